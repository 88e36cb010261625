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
  RGB pixels is Y, up to their rounding). A progressive JPEG is, moreover, decoded
  without the scans such a decode does not need (``luma_scans``). Exact mode and
  full-size decodes always give RGB. MPO files (JPEGs with an MPF index: phone photos
  with a depth or gain map) are JPEGs for this purpose: their first image is scaled.
* Memory is bounded by an estimate made from the header, before any pixel is decoded
  (``decode_memory_estimate``): the decoded pixels, their RGB copy and the PDQ
  filter's float buffers. An image over ``max_decode_bytes`` (after any reduced JPEG
  decoding) is refused with a DecompressionBombError naming its size, so that a
  hostile PNG of 14,000 x 14,000 pixels (a few hundred KB on disk, under the pixel
  cap) cannot take a worker past 1 GB; the item keeps its digests.
"""

from __future__ import annotations

import contextlib
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

#: Formats with a DCT-scaled decode: JPEG, and MPO (a JPEG whose first image is decoded).
_SCALABLE = ("JPEG", "MPO")

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
        if mode == "fast" and fmt in _SCALABLE:
            scale = _draft(im, fast_min_side, luma=luma)
        need = decode_memory_estimate(*im.size)
        if need > max_decode_bytes:
            raise DecompressionBombError(
                f"image of {width}x{height} pixels would need about {need / 1e6:,.0f} MB of "
                f"memory to decode and hash, over the limit of {max_decode_bytes / 1e6:,.0f} MB: "
                "digests only"
            )
        try:
            if luma and scale > 1 and im.mode == "L":
                array = _luma(im, data, fast_min_side)
            else:
                array = _pixels(im, pixels)
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
    width = im.size[0]
    requested = _requested(im.size, min_side)
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


def _requested(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    return (min(size[0], min_side), min(size[1], min_side))


def _luma(im: Image.Image, data: bytes | memoryview, min_side: int) -> np.ndarray:
    """The decoded Y plane of a luma (grayscale) JPEG decode, height x width uint8.

    A progressive JPEG is decoded from ``luma_scans`` when they apply: the same header,
    fewer scans. Anything unexpected about that leaner stream falls back to ``im``.
    """
    lean = luma_scans(data) if im.format == "JPEG" and im.info.get("progressive") else None
    if lean is not None:
        # The original decides when the lean stream fails: decoded, or its own error.
        with contextlib.suppress(Exception), _open(lean) as slim:
            slim.draft("L", _requested(slim.size, min_side))
            if slim.mode == "L" and slim.size == im.size:
                slim.load()
                return np.ascontiguousarray(np.asarray(slim))
    im.load()
    return np.ascontiguousarray(np.asarray(im))


# -- progressive JPEGs decoded for luma --------------------------------------------------

_SOI, _EOI, _SOS, _SOF2 = 0xD8, 0xD9, 0xDA, 0xC2
#: Start-of-frame markers other than SOF2 (baseline, extended, lossless, arithmetic...).
_OTHER_SOF = frozenset({0xC0, 0xC1, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
#: Component identifiers that make libjpeg read a 3-component JPEG without JFIF or
#: Adobe markers as RGB rather than YCbCr ('R', 'G', 'B').
_RGB_IDS = (82, 71, 66)
#: Bytes of a JPEG searched for markers at a time (the search's memory).
_MARKER_WINDOW = 4 << 20
#: Larger progressive JPEGs are decoded whole: the lean copy would add their size again
#: to a worker's memory (a 12 MP photo is under 10 MB).
MAX_LEAN_BYTES = 128 << 20


def luma_scans(data: bytes | memoryview) -> bytes | None:
    """A progressive JPEG without the scans a reduced-size luma decode can do without.

    A progressive JPEG is a series of scans, each refining some coefficients of some
    components; AC scans hold one component each, so they can be dropped without
    decoding anything, which a baseline (interleaved) scan does not allow. Dropped:

    * every AC scan of a chroma component (a luma decode never reads chroma AC): the Y
      plane decoded is bit for bit the same;
    * the last refinement of the luma AC coefficients (successive approximation from
      bit 1 to bit 0), the costliest scan to decode (a third to a half of the time): the
      coefficients then lack their least significant bit, as in a slightly coarser
      JPEG. At a DCT-scaled decode this left 45 of 46 progressive 12 MP photos' PDQ
      hashes unchanged and moved one by 2 bits, towards the exact hash.

    Only for a progressive Huffman JPEG whose colour space is YCbCr or grayscale (as
    libjpeg decides it); returns None for anything else, for a stream that does not
    parse, when nothing would be dropped, and over ``MAX_LEAN_BYTES``, so that the
    caller decodes the original.
    A scan without a marker after it (a truncated file) is kept, so that decoding
    still reports the truncation.
    """
    view = memoryview(data).cast("B")
    n = len(view)
    if n < 4 or n > MAX_LEAN_BYTES or view[0] != 0xFF or view[1] != _SOI:
        return None
    markers: np.ndarray | None = None  # found at the first scan
    luma_id: int | None = None
    jfif = False
    adobe: int | None = None
    drop: list[tuple[int, int]] = []
    pos = 2
    while True:
        if pos + 2 > n or view[pos] != 0xFF:
            return None
        marker = view[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            break
        length = (view[pos + 2] << 8) | view[pos + 3] if pos + 4 <= n else 0
        end = pos + 2 + length
        if length < 2 or end > n:
            return None
        body = view[pos + 4 : end]
        if marker == 0xE0 and bytes(body[:5]) == b"JFIF\0":
            jfif = True
        elif marker == 0xEE and bytes(body[:5]) == b"Adobe" and len(body) >= 12:
            adobe = body[11]
        elif marker in _OTHER_SOF:
            return None
        elif marker == _SOF2:
            if len(body) < 6 or len(body) < 6 + 3 * body[5] or body[5] not in (1, 3):
                return None
            ids = tuple(body[6 + 3 * i] for i in range(body[5]))
            if len(ids) == 3 and not _is_ycc(ids, jfif, adobe):
                return None  # RGB-coded: every component makes the luma
            luma_id = ids[0]
        elif marker == _SOS:
            if luma_id is None or len(body) < 1 or len(body) != 4 + 2 * body[0]:
                return None
            count = body[0]
            first = body[1]
            spectral_start = body[1 + 2 * count]
            approx = body[3 + 2 * count]
            if markers is None:
                markers = _marker_positions(np.frombuffer(view, dtype=np.uint8))
            nxt = int(np.searchsorted(markers, end))
            if nxt == len(markers):
                break  # no marker after this scan: keep the rest as it is
            scan_end = int(markers[nxt])
            # One component's AC: chroma, or luma's refinement from bit 1 to bit 0.
            if count == 1 and spectral_start > 0 and (first != luma_id or approx == 0x10):
                drop.append((pos, scan_end))
            pos = scan_end
            continue
        pos = end
    if not drop:
        return None
    parts, start = [], 0
    for begin, stop in drop:
        parts.append(view[start:begin])
        start = stop
    parts.append(view[start:])
    return b"".join(parts)


def _is_ycc(ids: tuple[int, ...], jfif: bool, adobe: int | None) -> bool:
    """Whether libjpeg reads a 3-component JPEG as YCbCr (jdapimin.c's rule)."""
    if jfif:
        return True
    if adobe is not None:
        return adobe != 0
    return ids != _RGB_IDS


def _marker_positions(buf: np.ndarray) -> np.ndarray:
    """Offsets of every 0xFF that starts a marker, outside the entropy coder's escapes.

    In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), by a restart
    marker (0xD0-0xD7) or by 0xFF (fill); anything else ends the scan.
    """
    found = []
    for start in range(0, max(0, len(buf) - 1), _MARKER_WINDOW):  # bounded memory
        window = buf[start : start + _MARKER_WINDOW + 1]
        ff = np.flatnonzero(window[:-1] == 0xFF)
        after = window[ff + 1]
        real = (after != 0) & (after != 0xFF) & ((after < 0xD0) | (after > 0xD7))
        found.append(ff[real] + start)
    return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


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
