"""Pictures for the review app: blurred and grey in their pixels, clear only for a reveal.

The browser is sent pixels that are already blurred (Gaussian, by the examiner's
chosen level) and, by default, grey: CSS filters alone would still deliver the clear
picture to the machine and to anyone who opens the image's address. Only blurred
renderings are ever cached (on disk, under ``VIGIL_HOME/cache/review``, private);
a clear rendering is made for one reveal and never written anywhere.

Items are read from the evidence through their locators (``vigil.media.sources``):
read-only, archive members and disk-image files included. JPEGs are decoded at a
reduced DCT scale (Pillow's ``draft``), which is what makes a page of 12 MP photos
fast; pictures declaring more pixels than hashing accepts are not decoded at all.
Videos appear as a strip of stills taken across their length: never played, no sound.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from vigil.fsutil import atomic_write
from vigil.media.images import DEFAULT_MAX_PIXELS
from vigil.media.sources.registry import locator_of, read_locator
from vigil.media.video import VideoSampler
from vigil.records import ScanItem

#: Longest side of a grid thumbnail, and of a revealed picture.
THUMB_SIDE = 256
CLEAR_SIDE = 1024
#: Blur levels an examiner may choose (1 = light .. 5 = strongest); never 0.
BLUR_LEVELS = (1, 2, 3, 4, 5)
DEFAULT_BLUR = 3
#: Stills in a video's strip.
STRIP_STILLS = 5
#: Radius of a keyhole reveal, as a fraction of the picture's shorter side.
KEYHOLE_FRACTION = 0.18


class NoPictureError(Exception):
    """The item cannot be shown (unreadable, not a picture, over the pixel limit)."""


@dataclass(frozen=True)
class Look:
    """How an examiner wants pictures: blur level and greyscale (their settings)."""

    blur: int = DEFAULT_BLUR
    grey: bool = True

    def __post_init__(self) -> None:
        """Clamp the blur to the allowed levels: a review never shows a clear grid."""
        object.__setattr__(self, "blur", min(max(int(self.blur), BLUR_LEVELS[0]), BLUR_LEVELS[-1]))

    @property
    def key(self) -> str:
        """The cache key part of this look."""
        return f"b{self.blur}{'g' if self.grey else 'c'}"


def blur_radius(side: int, level: int) -> float:
    """The Gaussian radius for a picture of longest side ``side`` at blur ``level``.

    Level 1 already removes faces' detail at thumbnail size; 5 leaves shapes only.
    """
    return max(2.0, side * (0.012 + 0.012 * level))


def _open_pixels(data: bytes, side: int, *, grey: bool) -> Image.Image:
    """Decode an image at about ``side`` pixels (DCT-scaled for JPEG), first frame only."""
    try:
        im = Image.open(io.BytesIO(data))
        if im.width * im.height > DEFAULT_MAX_PIXELS:
            raise NoPictureError("over the pixel limit")
        im.draft("L" if grey else "RGB", (side, side))
        im = ImageOps.exif_transpose(im) or im
        im.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return im.convert("L" if grey else "RGB")
    except NoPictureError:
        raise
    except Exception as exc:  # broken or hostile pictures are not shown
        raise NoPictureError(f"cannot decode: {type(exc).__name__}") from exc


def _video_stills(data: bytes, side: int, *, grey: bool) -> Image.Image:
    """A strip of ``STRIP_STILLS`` stills across the video, side by side."""
    try:
        with VideoSampler(io.BytesIO(data), seconds_per_hash=0.5) as probe:
            duration = (probe.info.duration if probe.info else None) or 1.0
        step = max(duration / STRIP_STILLS, 0.04)
        stills: list[Image.Image] = []
        with VideoSampler(io.BytesIO(data), seconds_per_hash=step) as sampler:
            for frame in sampler.frames():
                assert frame.rgb is not None  # RGB unless the sampler was asked for luma
                still = Image.fromarray(frame.rgb)
                still.thumbnail((side, side))
                stills.append(still.convert("L" if grey else "RGB"))
                if len(stills) == STRIP_STILLS:
                    break
    except Exception as exc:
        raise NoPictureError(f"cannot decode video: {type(exc).__name__}") from exc
    if not stills:
        raise NoPictureError("no frame decodes")
    width = sum(s.width for s in stills) + 4 * (len(stills) - 1)
    height = max(s.height for s in stills)
    strip = Image.new(stills[0].mode, (width, height), 0)
    x = 0
    for still in stills:
        strip.paste(still, (x, 0))
        x += still.width + 4
    return strip


def _encode(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=82)
    return out.getvalue()


def read_item(item: ScanItem) -> bytes:
    """An item's content, read again from the evidence by its locator."""
    locator = locator_of(item.path, item.source, item.locator)
    if locator is None:
        raise NoPictureError("no locator")
    try:
        return read_locator(locator)
    except Exception as exc:
        raise NoPictureError(f"cannot read: {type(exc).__name__}") from exc


def render(data: bytes, kind: str, side: int, *, grey: bool) -> Image.Image:
    """The picture (or video strip) at about ``side`` pixels, not yet blurred."""
    if kind == "video":
        return _video_stills(data, side // 2 if side > THUMB_SIDE else side, grey=grey)
    return _open_pixels(data, side, grey=grey)


def blurred(data: bytes, kind: str, look: Look, side: int = THUMB_SIDE) -> bytes:
    """A blurred (and, by default, grey) JPEG of an image or video."""
    im = render(data, kind, side, grey=look.grey)
    return _encode(im.filter(ImageFilter.GaussianBlur(blur_radius(max(im.size), look.blur))))


def clear(
    data: bytes,
    kind: str,
    look: Look,
    *,
    keyhole: tuple[float, float] | None = None,
    side: int = CLEAR_SIDE,
) -> bytes:
    """The revealed picture: clear, or clear only in a keyhole around ``(x, y)`` (fractions).

    A keyhole is composed here, so the browser receives clear pixels only inside it.
    Greyscale stays as the examiner chose it.
    """
    im = render(data, kind, side, grey=look.grey)
    if keyhole is None:
        return _encode(im)
    x, y = (min(max(float(v), 0.0), 1.0) for v in keyhole)
    radius = KEYHOLE_FRACTION * min(im.size)
    mask = Image.new("L", im.size, 0)
    cx, cy = x * im.width, y * im.height
    ImageDraw.Draw(mask).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    background = im.filter(ImageFilter.GaussianBlur(blur_radius(max(im.size), look.blur)))
    return _encode(Image.composite(im, background, mask))


class ThumbnailCache:
    """Blurred thumbnails on disk, keyed by medium and look; clear pictures never stored."""

    def __init__(self, root: Path) -> None:
        """Keep blurred thumbnails under ``root`` (made private, 0700)."""
        self.root = root

    def path(self, sha256: str, look: Look) -> Path:
        """Where the blurred thumbnail of ``sha256`` in ``look`` is kept."""
        name = hashlib.sha256(f"{sha256}:{look.key}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.jpg"

    def get(self, sha256: str, look: Look) -> bytes | None:
        """The cached blurred thumbnail, if made before."""
        try:
            return self.path(sha256, look).read_bytes()
        except OSError:
            return None

    def put(self, sha256: str, look: Look, data: bytes) -> None:
        """Keep a blurred thumbnail (only blurred renderings come here)."""
        path = self.path(sha256, look)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)
            atomic_write(path, data)
        except OSError:  # a read-only cache only costs speed
            pass
