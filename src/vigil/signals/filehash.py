"""Hash one file into a record: type, size, and every registered signal that applies.

One read pass gives the type, the size and the digests; an image's bytes are kept
from that pass and decoded from memory, so an image is read once. Then each
registered signal type (``vigil.signals``) whose content kinds fit the item computes
itself from a ``Content``: byte-level ones first, then, unless the digests say the
content is known (an ignore list), the image or video ones. A video is read a second
time by the decoder, streaming. Every per-file problem becomes the record's ``error``
(a specific message) and never an exception: one file never ends a run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from vigil.errors import MediaError, VigilError
from vigil.media.reader import open_evidence
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.records import FileHashes
from vigil.signals import signal_types
from vigil.signals.content import Content, HashOptions, file_reopener
from vigil.signals.crypto import CHUNK_SIZE, Digests, MultiDigest

__all__ = [
    "Content",
    "FileHashes",
    "HashOptions",
    "KnownTest",
    "hash_content",
    "hash_file",
    "hash_stream",
]


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
        digests, kept = _read_pass(path, record, options)
        content = Content(
            record, options, digests=digests, data=kept, video=path, reopen=file_reopener(path)
        )
        _compute(content, known)
    return record


def _compute(content: Content, known: KnownTest | None, *, media: bool = True) -> None:
    """Every registered signal that applies: byte-level ones, then (unless known) media ones."""
    record = content.record
    for st in signal_types():
        if "bytes" in st.content_kinds and (value := st.compute(content)) is not None:
            record.signals[st.name] = value
    if _is_known(content, known) or not media:
        return
    kind = content.media
    if record.size == 0:
        raise MediaError("empty file (0 bytes)")
    if not content.options.perceptual or kind is None:
        return
    for st in signal_types():
        if kind in st.content_kinds and (value := st.compute(content)) is not None:
            record.signals[st.name] = value


def _is_known(content: Content, known: KnownTest | None) -> bool:
    record, digests = content.record, content.digests
    if known is None or digests is None:
        return False
    record.known = known(digests)
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
            digest = MultiDigest()
            digest.update(data)
            record.size = digest.size
            record.type = sniff(bytes(data[:HEAD_SIZE]))
            content = Content(
                record, options, digests=digest.result(), data=data, video=io.BytesIO(data)
            )
            _compute(content, known)
        elif stream is not None:
            digests, head = _digest_stream(stream)
            record.size = digests.size
            record.type = sniff(head)
            content = Content(record, options, digests=digests, reopen=_rereader(stream))
            _compute(content, known, media=False)
            if not record.known and media_kind(record.type) and record.size:
                record.notes.append("too large to decode in memory: digests only")
        else:
            raise ValueError("hash_content needs data or a stream")
    return record


def _rereader(stream: BinaryIO) -> Callable[[], BinaryIO] | None:
    """Read a seekable stream again from its start, for a signal's own pass; else None.

    The stream handed out leaves the caller's open when closed (a video decoder may
    read it after the signals).
    """
    try:
        if not stream.seekable():
            return None
    except (AttributeError, OSError, ValueError):
        return None

    def reopen() -> BinaryIO:
        stream.seek(0)
        return _Borrowed(stream)  # type: ignore[return-value]

    return reopen


class _Borrowed(io.RawIOBase):
    """A read-only view of another stream whose ``close`` leaves that stream open."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


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
) -> tuple[Digests, bytearray | None]:
    """Read the file once: sniff its head, digest everything, keep an image's bytes."""
    with open_evidence(path) as f:
        return _read_stream(f, record, options, os.fstat(f.fileno()).st_size)


def _read_stream(
    f: BinaryIO, record: FileHashes, options: HashOptions, declared: int
) -> tuple[Digests, bytearray | None]:
    """One pass over an open item from its start (see ``_read_pass``)."""
    digest = MultiDigest()
    keep: bytearray | None = None
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    first = True
    while True:
        try:
            n = f.readinto(view)
        except OSError as exc:
            raise MediaError(f"read failed after {digest.size:,} bytes: {exc.strerror}") from exc
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
    record.size = result.size
    return result, keep


def hash_stream(
    label: str,
    stream: BinaryIO,
    options: HashOptions | None = None,
    known: KnownTest | None = None,
) -> FileHashes:
    """Hash an opened, seekable, read-only item as ``hash_file`` hashes a file.

    What evidence sources hand over (an archive member, a file inside a disk image):
    one read pass for the digests (an image's bytes kept), every registered signal
    computed, a video decoded from the same stream. Never raises for the item.
    """
    options = options or HashOptions()
    record = FileHashes(path=label)
    with _recording_errors(record):
        declared = _stream_size(stream)
        stream.seek(0)
        digests, kept = _read_stream(stream, record, options, declared)
        content = Content(
            record, options, digests=digests, data=kept, video=stream, reopen=lambda: stream
        )
        _compute(content, known)
    return record


def _stream_size(stream: BinaryIO) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        end = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        return end
