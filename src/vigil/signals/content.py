"""What a signal type computes from: one item's content, read once, decoded at most once.

Hashing one item runs in two phases (``vigil.signals.filehash``): one read pass gives
the type (sniffed), the size and the digests that every list carries, and keeps an
image's bytes; then each registered signal type whose content kinds fit the item
computes itself from a ``Content``. The expensive steps are shared and lazy: an image
is decoded once however many image signals there are, a byte-level signal that needs
its own pass opens the content again (``open``), read-only, never by path.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from vigil.errors import MediaError
from vigil.media.images import (
    DEFAULT_FAST_MIN_SIDE,
    DEFAULT_MAX_PIXELS,
    DecodedImage,
    PdqMode,
    PixelPolicy,
    decode_image,
)
from vigil.media.reader import open_evidence
from vigil.media.sniff import media_kind
from vigil.media.video import DEFAULT_MAX_FRAME_PIXELS, VideoMode
from vigil.records import FileHashes
from vigil.signals.crypto import Digests

if TYPE_CHECKING:
    from vigil.signals.base import ContentKind

#: Images larger than this many bytes get digests but are not decoded.
DEFAULT_MAX_IMAGE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class HashOptions:
    """How to hash: PDQ mode, dihedral variants, vPDQ sampling and the safety limits."""

    #: fast meets the accuracy bar (docs/pdq.md); use exact for hashes you will share.
    mode: PdqMode = "fast"
    dihedral: bool = False
    #: vPDQ path: fast keeps the match verdicts at about twice the speed; exact gives
    #: the reference's frames and hashes bit for bit (docs/pdq.md).
    video_mode: VideoMode = "fast"
    #: Worker processes for one long video on disk: split at keyframes, hashed in
    #: parallel, joined in order (the serial result). The CLI sets its ``--jobs``.
    video_workers: int = 1
    seconds_per_hash: float = 1.0
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    fast_min_side: int = DEFAULT_FAST_MIN_SIDE
    pixels: PixelPolicy = "rgb"
    #: False: digests only (a hashing pass, as hashdeep does).
    perceptual: bool = True


VideoSource = str | os.PathLike[str] | BinaryIO


class Content:
    """One item being hashed, as its signal types see it (see the module docstring)."""

    def __init__(
        self,
        record: FileHashes,
        options: HashOptions,
        *,
        digests: Digests | None = None,
        data: bytes | bytearray | memoryview | None = None,
        video: VideoSource | None = None,
        reopen: Callable[[], BinaryIO] | None = None,
    ) -> None:
        """``data``: the bytes, when in memory; ``video``: what the decoder reads."""
        self.record = record
        self.options = options
        self.digests = digests
        self.data = data
        self._video = video
        self._reopen = reopen
        self._image: DecodedImage | None = None

    @property
    def video(self) -> VideoSource | None:
        """What the video decoder reads: a path, or the item's stream rewound to its start."""
        if self._video is not None and not isinstance(self._video, (str, os.PathLike)):
            self._video.seek(0)
        return self._video

    @property
    def media(self) -> ContentKind | None:
        """``image`` or ``video`` when the sniffed type is one, else None."""
        kind = media_kind(self.record.type or "")
        return kind if kind in ("image", "video") else None  # type: ignore[return-value]

    def open(self) -> BinaryIO | io.RawIOBase:
        """A fresh read-only stream of the content's bytes (for a signal's own pass)."""
        if self.data is not None:
            return io.BytesIO(bytes(self.data))
        if self._reopen is not None:
            stream = self._reopen()
            if stream.seekable():
                stream.seek(0)
            return _Borrowed(stream)
        raise ValueError("this content can be read only once")

    def image(self, *, luma: bool = False) -> DecodedImage:
        """The decoded image (once, however many signals ask); MediaError if it cannot be.

        ``luma``: the caller needs luma only (PDQ), which in fast mode lets a large JPEG
        decode to its Y plane (``DecodedImage.is_luma``). A later caller that needs RGB
        gets the image decoded again, in RGB; the record is described once.
        """
        if self._image is None or (self._image.is_luma and not luma):
            opts = self.options
            if self.data is None:
                raise MediaError(
                    f"image of {self.record.size or 0:,} bytes is over the "
                    f"{opts.max_image_bytes:,}-byte decoding limit: digests only"
                )
            image = decode_image(
                memoryview(self.data),
                mime=self.record.type,
                mode=opts.mode,
                max_pixels=opts.max_pixels,
                fast_min_side=opts.fast_min_side,
                pixels=opts.pixels,
                luma=luma,
            )
            if self._image is None:
                self._describe(image)
            self._image = image
        return self._image

    def _describe(self, image: DecodedImage) -> None:
        """What the decoding tells the record: size, frames, orientation, scale, notes."""
        record = self.record
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


class _Borrowed(io.RawIOBase):
    """The item's own stream lent to one signal: reads go through, closing does not.

    Another signal (the video decoder) reads the same stream afterwards.
    """

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._stream.seekable()

    def readinto(self, buffer: Any) -> int:
        return self._stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        """Leave the lent stream open."""
        super().close()


def file_reopener(path: str | os.PathLike[str]) -> Callable[[], BinaryIO]:
    """Re-open a file on disk as evidence (read-only, O_NOATIME) for another pass."""
    return lambda: open_evidence(path)
