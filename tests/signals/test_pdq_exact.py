"""PDQ bit-exactness against the reference (pdqhash) on the shared fixtures and generated images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from tests.reference import pdqhash_dihedral_hex, pdqhash_hex
from vigil.media.images import decode_image
from vigil.signals import pdq_numpy
from vigil.signals.pdq import (
    DIHEDRAL_NAMES,
    bits_to_hex,
    dct16,
    hamming,
    pdq_dihedral_from_rgb,
    pdq_from_rgb,
)

IMAGE_SUFFIXES = {".jpg", ".png", ".webp", ".gif", ".bmp", ".tif"}

# Published by the reference's pure-Python tests (see the fixtures README): a sanity check.
PUBLISHED = {
    "misc-images/c.png": "e64cc9d91e623842f8d1f1d9a398e78c9f199a3bd87924f2b7e11e0bf061b064",
    "misc-images/small.jpg": "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff",
    "misc-images/wee.jpg": "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
    "reg-test-input/labelme-subset/q0003.jpg": (
        "54a977c221d14c1c43ba5e6e21d4a13989a3553f1462611cbb85fda7be83b677"
    ),
    "reg-test-input/labelme-subset/q0004.jpg": (
        "992d44af36d69e6ca6b812585928bac11def254ef5398c6d07466c9abcc65b92"
    ),
    "reg-test-input/dih/bridge-1-original.jpg": (
        "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"
    ),
}


def fixture_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def test_every_fixture_image_is_bit_exact(pdq_fixtures: Path) -> None:
    images = fixture_images(pdq_fixtures)
    assert len(images) >= 40
    for path in images:
        rgb = decode_image(path.read_bytes()).rgb
        ours = pdq_from_rgb(rgb)
        assert (ours.hex, ours.quality) == pdqhash_hex(rgb), path


def test_fixture_dihedral_hashes_equal_the_reference(pdq_fixtures: Path) -> None:
    for path in fixture_images(pdq_fixtures / "reg-test-input" / "dih"):
        rgb = decode_image(path.read_bytes()).rgb
        ours, quality = pdq_dihedral_from_rgb(rgb)
        theirs, their_quality = pdqhash_dihedral_hex(rgb)
        assert [ours[name] for name in DIHEDRAL_NAMES] == theirs, path
        assert quality == their_quality


def test_dihedral_hashes_find_rotated_files(pdq_fixtures: Path) -> None:
    """Each stored rotation/flip of the bridge photo is close to one of the original's variants."""
    folder = pdq_fixtures / "reg-test-input" / "dih"
    original = next(p for p in fixture_images(folder) if "original" in p.name)
    variants, _ = pdq_dihedral_from_rgb(decode_image(original.read_bytes()).rgb)
    for path in fixture_images(folder):
        h = pdq_from_rgb(decode_image(path.read_bytes()).rgb).hex
        assert min(hamming(h, v) for v in variants.values()) <= 31, path


def test_published_hashes_are_within_ten_bits(pdq_fixtures: Path) -> None:
    for relative, published in PUBLISHED.items():
        rgb = decode_image((pdq_fixtures / relative).read_bytes()).rgb
        assert hamming(pdq_from_rgb(rgb).hex, published) <= 10, relative


def test_numpy_twin_equals_the_c_core(pdq_fixtures: Path) -> None:
    for path in fixture_images(pdq_fixtures / "bridge-mods")[:6]:
        rgb = decode_image(path.read_bytes()).rgb
        for luma in ("pdqhash", "cpp"):
            c_dct, c_q = dct16(rgb, luma)
            n_dct, n_q = pdq_numpy.dct16(rgb, luma)
            assert c_q == n_q
            assert np.array_equal(c_dct, n_dct), (path, luma)


def _natural(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A smooth-ish picture: random values, integrated, so PDQ quality is meaningful."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.cumsum(noise, axis=1, dtype=np.uint16).astype(np.uint8))


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    smooth=st.booleans(),
)
def test_generated_images_are_bit_exact(height: int, width: int, seed: int, smooth: bool) -> None:
    if smooth:
        rgb = _natural((height, width), seed)
    else:
        rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert (pdq_from_rgb(rgb).hex, pdq_from_rgb(rgb).quality) == pdqhash_hex(rgb)


@settings(max_examples=25, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(5, 80), st.integers(5, 80), st.just(3))))
def test_arbitrary_pixel_arrays_are_bit_exact(rgb: np.ndarray) -> None:
    assert (pdq_from_rgb(rgb).hex, pdq_from_rgb(rgb).quality) == pdqhash_hex(rgb)


@pytest.mark.parametrize("size", [(64, 64), (4, 100), (100, 4), (5, 5), (1, 1), (2000, 3)])
def test_edge_sizes_are_bit_exact(size: tuple[int, int]) -> None:
    rgb = _natural(size, 7)
    assert (pdq_from_rgb(rgb).hex, pdq_from_rgb(rgb).quality) == pdqhash_hex(rgb)


def test_large_image_is_bit_exact() -> None:
    rgb = _natural((1536, 2048), 11)
    assert (pdq_from_rgb(rgb).hex, pdq_from_rgb(rgb).quality) == pdqhash_hex(rgb)


def test_bits_to_hex_sets_the_bits_above_the_median() -> None:
    dct = np.arange(256, dtype=np.float32).reshape(16, 16)
    # Values 128..255 are above the median (127): bits 128..255 set.
    assert bits_to_hex(dct) == "f" * 32 + "0" * 32


def test_rotated_image_matches_a_dihedral_variant() -> None:
    rgb = _natural((120, 90), 3)
    variants, _ = pdq_dihedral_from_rgb(rgb)
    for k in range(1, 4):
        rotated = np.ascontiguousarray(np.rot90(rgb, k))
        h = pdq_from_rgb(rotated).hex
        assert min(hamming(h, v) for v in variants.values()) <= 8
    flipped = np.ascontiguousarray(rgb[:, ::-1])
    assert min(hamming(pdq_from_rgb(flipped).hex, v) for v in variants.values()) <= 8


def test_image_file_modes_hash_like_pytx(pdq_fixtures: Path) -> None:
    """Policy ``pytx`` reproduces python-threatexchange's hashing of every colour mode."""
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    for path in fixture_images(pdq_fixtures / "misc-images" / "modes"):
        with Image.open(path) as im:
            mode = im.mode
        try:
            expected, _ = pdq_from_file(path)
        except Exception:
            continue  # modes pytx itself cannot hash (F, I): nothing to compare
        ours = pdq_from_rgb(decode_image(path.read_bytes(), pixels="pytx").rgb).hex
        assert ours == expected, (path.name, mode)
