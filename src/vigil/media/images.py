"""Decode images to RGB pixels with Pillow, within limits that hostile files need.

Choices that decide hash compatibility:

* Pixels are Pillow's decoding, converted to 8-bit RGB with ``Image.convert("RGB")``
  (policy ``rgb``). For RGB, RGBA, L, LA and I;16 images that is exactly what
  python-threatexchange (and so HMA) hands to the PDQ reference, so hashes agree
  bit for bit. For palette (P), CMYK, HSV, LAB and YCbCr images pytx hands the raw
  channels over instead of colours (palette indices, ink amounts); policy ``pytx``
  reproduces that quirk for lists made by HMA, policy ``rgb`` hashes what a person sees.
* EXIF orientation is ignored, as the reference and HMA do, so that shared lists
  match. It is reported (``exif_orientation``) and rotated copies are found by
  dihedral hashing (all eight rotations and flips from one DCT).
* Multi-frame images (GIF, APNG, multi-page TIFF) are hashed on their first frame;
  the frame count is reported.
* ``fast`` mode asks libjpeg-turbo for a DCT-scaled decode (1/2, 1/4 or 1/8) of
  large JPEGs, keeping both sides at least ``fast_min_side`` pixels; images whose
  sides are below twice that bound decode in full, so their hash is exact. A caller
  that needs only luma (PDQ) may ask for it (``luma=True``): a DCT-scaled YCbCr or
  grayscale JPEG is then decoded to its Y channel alone, so libjpeg skips the chroma
  IDCT, upsampling and colour conversion (with PDQ's BT.601 weights the luma of the
  RGB pixels is Y, up to their rounding). Exact mode and full-size decodes always
  give RGB.
* Memory is bounded by an estimate made from the header, before any pixel is decoded
  (``decode_memory_estimate``): the decoded pixels, their RGB copy and the PDQ
  filter's float buffers. An image over ``max_decode_bytes`` (after any reduced JPEG
  decoding) is refused with a DecompressionBombError naming its size, so that a
  hostile PNG of 14,000 x 14,000 pixels (a few hundred KB on disk, under the pixel
  cap) cannot take a worker past 1 GB; the item keeps its digests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, ImageFile

from vigil.errors import CorruptMediaError, DecompressionBombError, describe

#: Default cap on an image's declared pixel count (width x height): 200 MP.
DEFAULT_MAX_PIXELS = 200_000_000
#: Default cap on the memory one image's decoding and hashing may need: a worker
#: (about 150 MB of code and libraries) stays under 1 GB.
DEFAULT_MAX_DECODE_BYTES = 720 << 20
#: Bytes per pixel at the peak of decoding and hashing: up to 4 decoded, 3 of RGB, and
#: 2 float32 planes of luminance in the PDQ filter (the decoded image is freed by then).
_PEAK_BYTES_PER_PIXEL = 11
#: In fast mode, reduced JPEG decoding keeps both sides at least this long.
DEFAULT_FAST_MIN_SIDE = 512

PdqMode = Literal["exact", "fast"]
PixelPolicy = Literal["rgb", "pytx"]

_EXIF_ORIENTATION = 0x0112
_heif_registered = False


@dataclass(frozen=True)
class DecodedImage:
    """Pixels to hash, plus what an examiner should know about how they were got."""

    #: height x width x 3 RGB, or height x width luma (Y) for a luma decode; uint8,
    #: C-contiguous.
    pixels: np.ndarray
    width: int  # declared size of the image, before any reduced decoding
    height: int
    format: str
    frames: int
    exif_orientation: int | None
    scale: int  # 1, or the DCT scaling denominator of a reduced JPEG decode

    @property
    def is_luma(self) -> bool:
        """True when only the Y channel was decoded (``decode_image(..., luma=True)``)."""
        return self.pixels.ndim == 2

    @property
    def rgb(self) -> np.ndarray:
        """The RGB pixels; ValueError for a luma decode, which has no colour to give."""
        if self.is_luma:
            raise ValueError("this image was decoded to luma only (fast PDQ): no RGB pixels")
        return self.pixels


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True


def decode_image(
    data: bytes | memoryview,
    *,
    mime: str | None = None,
    mode: PdqMode = "exact",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    fast_min_side: int = DEFAULT_FAST_MIN_SIDE,
    pixels: PixelPolicy = "rgb",
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    luma: bool = False,
) -> DecodedImage:
    """Decode the first frame of an image held in memory.

    ``luma``: the caller needs luma only (PDQ); in fast mode a DCT-scaled YCbCr or
    grayscale JPEG then comes back as its Y plane (``is_luma``), anything else as RGB.
    Raises DecompressionBombError before decoding anything when the declared size is
    over ``max_pixels`` or its decoding would need more than ``max_decode_bytes``
    (``decode_memory_estimate``), and CorruptMediaError, naming the decoder's
    complaint, when the file is truncated or corrupt.
    """
    if mime in ("image/heic", "image/heif", "image/avif"):
        _register_heif()
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        im = _open(data)
    except DecompressionBombError:
        raise
    except Exception as exc:
        raise CorruptMediaError(f"cannot read image header: {describe(exc)}") from exc
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise DecompressionBombError(
                f"image declares {width}x{height} = {width * height:,} pixels, over the "
                f"limit of {max_pixels:,} (--max-pixels)"
            )
        fmt = im.format or "unknown"
        frames = int(getattr(im, "n_frames", 1) or 1)
        orientation = _orientation(im)
        scale = 1
        if mode == "fast" and fmt == "JPEG":
            scale = _draft(im, fast_min_side, luma=luma)
        need = decode_memory_estimate(*im.size)
        if need > max_decode_bytes:
            raise DecompressionBombError(
                f"image of {width}x{height} pixels would need about {need / 1e6:,.0f} MB of "
                f"memory to decode and hash, over the limit of {max_decode_bytes / 1e6:,.0f} MB: "
                "digests only"
            )
        try:
            array = _luma(im) if luma and scale > 1 and im.mode == "L" else _pixels(im, pixels)
        except Exception as exc:
            raise CorruptMediaError(f"cannot decode {fmt} image: {describe(exc)}") from exc
    return DecodedImage(array, width, height, fmt, frames, orientation, scale)


def decode_memory_estimate(width: int, height: int) -> int:
    """Peak bytes that decoding and hashing a ``width`` x ``height`` image needs."""
    return max(0, width) * max(0, height) * _PEAK_BYTES_PER_PIXEL


def _open(data: bytes | memoryview) -> Image.Image:
    saved = Image.MAX_IMAGE_PIXELS
    # Vigil enforces its own, configurable limit on the declared size (above);
    # Pillow's warning would only duplicate it.
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(io.BytesIO(data))
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _draft(im: Image.Image, min_side: int, *, luma: bool = False) -> int:
    """Ask for a DCT-scaled JPEG decode keeping both sides >= min_side; return the scale.

    With ``luma``, a YCbCr (or RGB) JPEG that will be scaled is decoded to grayscale:
    libjpeg then decodes only the Y component's blocks (the chroma ones are still
    entropy-decoded, which a baseline scan cannot skip). A full-size decode stays RGB,
    so that fast mode's hash of an image too small to scale is the exact hash.
    """
    width, height = im.size
    requested = (min(width, min_side), min(height, min_side))
    gray = luma and im.mode in ("RGB", "L") and _dct_scale(im.size, requested) > 1
    result = im.draft("L" if gray else "RGB", requested)
    if result is None:
        return 1
    _, box = result
    return max(1, round(width / box[2]))


def _dct_scale(size: tuple[int, int], requested: tuple[int, int]) -> int:
    """The DCT scaling Pillow's JPEG ``draft`` picks for ``requested`` (1, 2, 4 or 8)."""
    fit = min(size[0] // max(1, requested[0]), size[1] // max(1, requested[1]))
    return next(s for s in (8, 4, 2, 1) if fit >= s)


def _luma(im: Image.Image) -> np.ndarray:
    """The decoded Y plane of a luma (grayscale) JPEG decode, height x width uint8."""
    im.load()
    return np.ascontiguousarray(np.asarray(im))


def _pixels(im: Image.Image, policy: PixelPolicy) -> np.ndarray:
    if policy == "pytx":
        return _pytx_pixels(im)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im))


def _pytx_pixels(im: Image.Image) -> np.ndarray:
    """The array python-threatexchange hands to pdqhash (raw channels, first three)."""
    if im.mode in ("LA", "I;16"):
        im = im.convert("RGB")
    array = np.asarray(im)
    if array.ndim == 2:
        array = np.repeat(array[..., np.newaxis], 3, axis=2)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)  # pdqhash reads mode-1 pixels as bytes 0 and 1
    if array.dtype != np.uint8:
        raise CorruptMediaError(f"pytx pixel policy cannot hash mode {im.mode} ({array.dtype})")
    return np.ascontiguousarray(array[:, :, :3])
