"""Hash one file into a record: type, size, digests, and PDQ or vPDQ.

One read pass gives the digests; an image's bytes are kept from that pass and
decoded from memory, so an image is read once. A video is read a second time by
the decoder, streaming. Every per-file problem becomes the record's ``error``
(a specific message) and never an exception: one file never ends a run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, BinaryIO

from vigil.errors import MediaError, VigilError
from vigil.media.images import (
    DEFAULT_FAST_MIN_SIDE,
    DEFAULT_MAX_PIXELS,
    PdqMode,
    PixelPolicy,
    decode_image,
)
from vigil.media.reader import open_evidence
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.media.video import DEFAULT_MAX_FRAME_PIXELS
from vigil.signals.crypto import CHUNK_SIZE, Digests, MultiDigest
from vigil.signals.pdq import ZERO_HASH, bits_to_hex, dct16, dihedral_dcts
from vigil.signals.vpdq import vpdq_from_video

#: Images larger than this many bytes get digests but are not decoded.
DEFAULT_MAX_IMAGE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class HashOptions:
    """How to hash: PDQ mode, dihedral variants, vPDQ sampling and the safety limits."""

    #: fast meets the accuracy bar (docs/pdq.md); use exact for hashes you will share.
    mode: PdqMode = "fast"
    dihedral: bool = False
    seconds_per_hash: float = 1.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    fast_min_side: int = DEFAULT_FAST_MIN_SIDE
    pixels: PixelPolicy = "rgb"
    #: False: digests only (a hashing pass, as hashdeep does).
    perceptual: bool = True


@dataclass
class FileHashes:
    """The record of one hashed file. Field names are stable (docs/hash-output.md)."""

    path: str
    type: str | None = None
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: dict[str, str] | None = None
    vpdq: list[dict[str, Any]] | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    exif_orientation: int | None = None
    pdq_scale: int | None = None
    known: bool = False
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with every field present (null when not applicable)."""
        return asdict(self)


#: Says, from its digests, whether content is known (in an ignore list such as NSRL).
KnownTest = Callable[[Digests], bool]


def hash_file(
    path: str | os.PathLike[str],
    options: HashOptions | None = None,
    known: KnownTest | None = None,
) -> FileHashes:
    """Hash one file on disk. Never raises for a problem with the file: see ``error``.

    When ``known`` says the digests are of known content, media decoding is skipped and
    the record's ``known`` is true: known files cost one read and no decoding.
    """
    options = options or HashOptions()
    record = FileHashes(path=os.fsdecode(path))
    with _recording_errors(record):
        content = _read_pass(path, record, options)
        if not _is_known(record, known):
            _hash_media(record, options, image=content, video=path)
    return record


def _is_known(record: FileHashes, known: KnownTest | None) -> bool:
    if known is None or record.md5 is None or record.size is None:
        return False
    assert record.sha1 is not None and record.sha256 is not None
    record.known = known(Digests(record.size, record.md5, record.sha1, record.sha256))
    if record.known:
        record.notes.append("known file (in an ignore set): media hashing skipped")
    return record.known


def hash_content(
    label: str,
    data: bytes | None = None,
    stream: BinaryIO | None = None,
    options: HashOptions | None = None,
    known: KnownTest | None = None,
) -> FileHashes:
    """Hash content that is not a file on disk (an archive member, an upload).

    Give ``data`` when the content is in memory (it is hashed like a file), or a
    ``stream`` read once to its end, which gets digests only: decoding media needs
    the content in memory or on disk.
    """
    options = options or HashOptions()
    record = FileHashes(path=label)
    with _recording_errors(record):
        if data is not None:
            digests = MultiDigest()
            digests.update(data)
            _set_digests(record, digests.result())
            record.type = sniff(bytes(data[:HEAD_SIZE]))
            if not _is_known(record, known):
                _hash_media(record, options, image=data, video=io.BytesIO(data))
        elif stream is not None:
            digests, head = _digest_stream(stream)
            _set_digests(record, digests)
            record.type = sniff(head)
            if not _is_known(record, known) and media_kind(record.type) and record.size:
                record.notes.append("too large to decode in memory: digests only")
        else:
            raise ValueError("hash_content needs data or a stream")
    return record


@contextmanager
def _recording_errors(record: FileHashes) -> Iterator[None]:
    """Turn any problem with one item into its record's error: one file never ends a run."""
    try:
        yield
    except VigilError as exc:
        record.error = str(exc)
    except MemoryError:
        record.error = "out of memory while hashing this file"
    except Exception as exc:
        record.error = f"internal error ({type(exc).__name__}): {exc}"


def _hash_media(
    record: FileHashes,
    options: HashOptions,
    *,
    image: bytes | bytearray | None,
    video: str | os.PathLike[str] | BinaryIO,
) -> None:
    if record.size == 0:
        raise MediaError("empty file (0 bytes)")
    if not options.perceptual:
        return
    kind = media_kind(record.type or "")
    if kind == "image":
        _hash_image(image, record, options)
    elif kind == "video":
        _hash_video(video, record, options)


def _set_digests(record: FileHashes, result: Digests) -> None:
    record.size, record.md5, record.sha1, record.sha256 = (
        result.size,
        result.md5,
        result.sha1,
        result.sha256,
    )


def _digest_stream(stream: BinaryIO) -> tuple[Digests, bytes]:
    digest = MultiDigest()
    head = b""
    while chunk := stream.read(CHUNK_SIZE):
        if not head:
            head = bytes(chunk[:HEAD_SIZE])
        digest.update(chunk)
    return digest.result(), head


def _read_pass(
    path: str | os.PathLike[str], record: FileHashes, options: HashOptions
) -> bytearray | None:
    """Read the file once: sniff its head, digest everything, keep an image's bytes."""
    digest = MultiDigest()
    keep: bytearray | None = None
    with open_evidence(path) as f:
        declared = os.fstat(f.fileno()).st_size
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        first = True
        while True:
            try:
                n = f.readinto(view)
            except OSError as exc:
                raise MediaError(
                    f"read failed after {digest.size:,} bytes: {exc.strerror}"
                ) from exc
            if not n:
                break
            chunk = view[:n]
            if first:
                record.type = sniff(bytes(chunk[:HEAD_SIZE]))
                first = False
                if (
                    options.perceptual
                    and media_kind(record.type) == "image"
                    and declared <= options.max_image_bytes
                ):
                    keep = bytearray()
            digest.update(chunk)
            if keep is not None:
                keep += chunk
    if first:
        record.type = sniff(b"")
    result = digest.result()
    if result.size != declared:
        raise MediaError(
            f"file changed while being read: {declared:,} bytes at open, {result.size:,} read"
        )
    _set_digests(record, result)
    if options.perceptual and media_kind(record.type) == "image" and keep is None:
        raise MediaError(
            f"image of {result.size:,} bytes is over the {options.max_image_bytes:,}-byte "
            "decoding limit: digests only"
        )
    return keep


def _hash_image(
    content: bytes | bytearray | None, record: FileHashes, options: HashOptions
) -> None:
    assert content is not None
    image = decode_image(
        memoryview(content),
        mime=record.type,
        mode=options.mode,
        max_pixels=options.max_pixels,
        fast_min_side=options.fast_min_side,
        pixels=options.pixels,
    )
    record.width, record.height = image.width, image.height
    record.frames = image.frames
    record.exif_orientation = image.exif_orientation
    record.pdq_scale = image.scale
    if image.frames > 1:
        record.notes.append(f"multi-frame image: first of {image.frames} frames hashed")
    if image.exif_orientation not in (None, 1):
        record.notes.append(
            f"EXIF orientation {image.exif_orientation} ignored, as the reference does; "
            "use --dihedral to match rotated copies"
        )
    result = dct16(image.rgb)
    if result is None:
        record.pdq, record.pdq_quality = ZERO_HASH, 0
        record.notes.append("image smaller than 5 pixels on a side: PDQ is all zeros")
        return
    dct, quality = result
    record.pdq, record.pdq_quality = bits_to_hex(dct), quality
    if options.dihedral:
        record.pdq_dihedral = {name: bits_to_hex(m) for name, m in dihedral_dcts(dct).items()}


def _hash_video(
    path: str | os.PathLike[str] | BinaryIO, record: FileHashes, options: HashOptions
) -> None:
    frames, info = vpdq_from_video(
        path,
        seconds_per_hash=options.seconds_per_hash,
        max_frame_pixels=options.max_frame_pixels,
    )
    record.width, record.height = info.width, info.height
    record.frames = len(frames)
    record.vpdq = [
        {"pdq": f.pdq, "quality": f.quality, "timestamp": f.timestamp, "frame": f.frame}
        for f in frames
    ]
