"""PDQ: Meta's 256-bit perceptual image hash, bit-exact with the reference.

"Exact" means: the same 256 bits and quality as the ``pdqhash`` package (bindings of
Meta's C++ reference, which python-threatexchange and HMA use) for the same decoded
pixels. The arithmetic runs in Vigil's own C core (``_pdqcore.c``), which repeats the
reference's float32 operations in the same order but vectorised, so it is several
times faster (see docs/benchmarks.md); ``pdq_numpy`` is a pure-numpy twin used as a
fallback and as a second oracle in tests. ``pdqhash`` itself is only a test and
benchmark dependency: Vigil does not need it at run time.

Two luma conversions exist in the reference world, and both are provided:
``pdqhash`` (the Python binding: float64 sum, then float32), used for images so
that hashes equal pytx/HMA's; and ``cpp`` (the C++ library's float32 sum), which
the vPDQ reference uses for video frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from vigil.signals.base import ContentKind, IndexKind, SignalType, validate_hex

if TYPE_CHECKING:
    from vigil.signals.content import Content

try:
    from vigil.signals import _pdqcore
except ImportError:  # pragma: no cover - only when the extension was not built
    _pdqcore = None

#: Two PDQ hashes within this Hamming distance are a match (pdq/README.md).
PDQ_MATCH_THRESHOLD = 31
#: Below this quality the reference advises not to use a hash for matching.
PDQ_QUALITY_THRESHOLD = 50
#: Images with a side shorter than this hash to all zeros with quality 0, as in the reference.
MIN_HASHABLE_DIM = 5

LumaMode = Literal["pdqhash", "cpp"]
_LUMA_CODES = {"pdqhash": 0, "cpp": 1}

DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)

ZERO_HASH = "0" * 64


@dataclass(frozen=True)
class PdqHash:
    """A PDQ hash (64 lower-case hex digits) and its quality (0-100)."""

    hex: str
    quality: int


def dct16(rgb: np.ndarray, luma: LumaMode = "pdqhash") -> tuple[np.ndarray, int] | None:
    """The 16x16 float32 DCT output and quality of an RGB image; None if too small to hash."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a height x width x 3 uint8 array, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return None
    rgb = np.ascontiguousarray(rgb)
    if _pdqcore is None:
        from vigil.signals import pdq_numpy

        return pdq_numpy.dct16(rgb, luma)
    raw, quality = _pdqcore.dct16(rgb, height, width, _LUMA_CODES[luma])
    return np.frombuffer(raw, dtype=np.float32).reshape(16, 16), quality


def dct16_plane(
    plane: np.ndarray,
    width: int | None = None,
    *,
    black: int = 0,
    white: int = 255,
    at_points: bool = True,
) -> tuple[np.ndarray, int] | None:
    """The 16x16 DCT and quality of an 8-bit luma plane (a Y channel); None if too small.

    For the fast modes only: with the BT.601 weights PDQ uses, the luma of an RGB image
    converted from YCbCr is its Y channel, so hashing Y skips the colour conversion and
    gives the exact path's hash up to the rounding and clipping of the RGB pixels.
    ``plane``: height x stride bytes, of which the first ``width`` (default: all) of each
    row are pixels, as a decoder lays out a padded frame. ``black``/``white``: the
    plane's range (16/235 for limited-range video), stretched to 0-255 so that the
    quality metric sees the contrast of the RGB image. ``at_points``: evaluate the
    Jarosz filter only at the 64x64 points PDQ keeps (the C core; about a quarter of
    the work on a 1080p frame, 0-2 bits from the full filter); else filter every pixel
    in the reference's order.
    """
    if plane.ndim != 2 or plane.dtype != np.uint8:
        raise ValueError(f"expected a height x stride uint8 array, got {plane.shape} {plane.dtype}")
    height, stride = plane.shape
    width = stride if width is None else width
    if not 0 < width <= stride:
        raise ValueError(f"width {width} outside the row's {stride} bytes")
    if height < MIN_HASHABLE_DIM or width < MIN_HASHABLE_DIM:
        return None
    plane = np.ascontiguousarray(plane)
    if _pdqcore is None:
        from vigil.signals import pdq_numpy

        luma = plane[:, :width].astype(np.float32)
        if (black, white) != (0, 255):
            luma = (luma - np.float32(black)) * (np.float32(255) / np.float32(white - black))
        return pdq_numpy.dct16_from_luma(luma)
    raw, quality = _pdqcore.dct16_plane(plane, height, width, stride, black, white, at_points)
    return np.frombuffer(raw, dtype=np.float32).reshape(16, 16), quality


def bits_to_hex(dct: np.ndarray) -> str:
    """Threshold a 16x16 DCT at its median (the 128th smallest value) into hex.

    Bit ``16*i + j`` is set when ``dct[i, j]`` is above the median; the hex string is
    the 256-bit number written most significant digit first, as the reference prints it.
    """
    flat = dct.ravel()
    median = np.partition(flat, 127)[127]
    packed = np.packbits(flat > median, bitorder="little")
    return f"{int.from_bytes(packed.tobytes(), 'little'):064x}"


def pdq_from_rgb(rgb: np.ndarray, luma: LumaMode = "pdqhash") -> PdqHash:
    """PDQ hash of an RGB image, as the reference computes it from the same pixels."""
    return _hash_of(dct16(rgb, luma))


def pdq_from_plane(
    plane: np.ndarray, width: int | None = None, *, black: int = 0, white: int = 255
) -> PdqHash:
    """PDQ hash of an 8-bit luma plane (fast modes; see ``dct16_plane``)."""
    return _hash_of(dct16_plane(plane, width, black=black, white=white))


def _hash_of(result: tuple[np.ndarray, int] | None) -> PdqHash:
    """The hash of a DCT and its quality; all zeros, quality 0, for an image too small."""
    if result is None:
        return PdqHash(ZERO_HASH, 0)
    dct, quality = result
    return PdqHash(bits_to_hex(dct), quality)


def dihedral_dcts(dct: np.ndarray) -> dict[str, np.ndarray]:
    """The DCTs of the 8 rotations and flips of an image, derived from its own DCT.

    The DCT of a flipped image is the DCT with every other frequency negated, and a
    transposed image has the transposed DCT; so all eight come from one computation.
    """
    odd = (np.arange(16) % 2).astype(np.float32)
    sign = odd * 2 - 1  # +1 at odd frequencies, -1 at even ones
    checker = np.where((np.add.outer(np.arange(16), np.arange(16)) % 2) == 1, -1, 1).astype(
        np.float32
    )
    return {
        "original": dct,
        "rotate90": (dct * sign[np.newaxis, :]).T,
        "rotate180": dct * checker,
        "rotate270": (dct * sign[:, np.newaxis]).T,
        "flipx": dct * sign[:, np.newaxis],
        "flipy": dct * sign[np.newaxis, :],
        "flip_plus1": dct.T,
        "flip_minus1": (dct * checker).T,
    }


def pdq_dihedral_from_rgb(rgb: np.ndarray) -> tuple[dict[str, str], int]:
    """The 8 dihedral PDQ hashes (keys in ``DIHEDRAL_NAMES``) and the quality."""
    result = dct16(rgb)
    if result is None:
        return dict.fromkeys(DIHEDRAL_NAMES, ZERO_HASH), 0
    dct, quality = result
    return {name: bits_to_hex(m) for name, m in dihedral_dcts(dct).items()}, quality


def hamming(a: str, b: str) -> int:
    """Hamming distance between two PDQ hashes given as hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class PdqSignal(SignalType):
    """PDQ: 64 hex digits; a match is a Hamming distance of 31 or less."""

    name = "pdq"
    code = 4
    content_kinds: ClassVar[frozenset[ContentKind]] = frozenset({"image"})
    index: ClassVar[IndexKind] = "pdq"
    default_threshold: ClassVar[int] = PDQ_MATCH_THRESHOLD
    digest_bytes: ClassVar[int | None] = 32

    @classmethod
    def compute(cls, content: Content) -> str | None:
        """PDQ of the decoded image; sets the record's quality (and dihedral variants).

        PDQ needs luma only, so it asks for it: in fast mode a large JPEG is decoded to
        its Y plane and hashed from that (``dct16_plane``); otherwise from RGB, exactly.
        """
        record = content.record
        image = content.image(luma=True)
        result = dct16_plane(image.pixels) if image.is_luma else dct16(image.rgb)
        if result is None:
            record.pdq_quality = 0
            record.notes.append("image smaller than 5 pixels on a side: PDQ is all zeros")
            return ZERO_HASH
        dct, quality = result
        record.pdq_quality = quality
        if content.options.dihedral:
            record.pdq_dihedral = {n: bits_to_hex(m) for n, m in dihedral_dcts(dct).items()}
        return bits_to_hex(dct)

    @classmethod
    def validate(cls, value: str) -> str:
        """Canonical lower-case PDQ hex, or InvalidHashError."""
        return validate_hex(value, length=64, what="PDQ hash")

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """Hamming distance."""
        return hamming(a, b)
