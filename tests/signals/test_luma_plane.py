"""PDQ from an 8-bit luma plane (the fast modes' path): against the full filter and RGB."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.signals import pdq_numpy
from vigil.signals.pdq import bits_to_hex, dct16, dct16_plane, hamming


def _scene(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth benign picture: gradients and a few soft discs, as 8-bit luma."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = 60 + 80 * (x / width) + 40 * np.sin(y / max(height, 1) * rng.uniform(2, 9))
    for _ in range(5):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(5, 60)
        img += rng.uniform(-60, 60) * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_full_filter_equals_the_numpy_twin() -> None:
    plane = _scene(300, 500, 1)
    dct, quality = dct16_plane(plane, at_points=False)  # type: ignore[misc]
    twin, twin_quality = pdq_numpy.dct16_from_luma(plane.astype(np.float32))
    assert quality == twin_quality
    assert np.array_equal(dct, twin)


def test_grey_rgb_and_its_plane_hash_alike() -> None:
    plane = _scene(240, 320, 2)
    rgb = np.repeat(plane[:, :, None], 3, axis=2)
    from_rgb, q_rgb = dct16(rgb, "cpp")  # type: ignore[misc]
    from_plane, q_plane = dct16_plane(plane)  # type: ignore[misc]
    assert hamming(bits_to_hex(from_rgb), bits_to_hex(from_plane)) <= 2
    assert abs(q_rgb - q_plane) <= 1


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(5, 700),
    width=st.integers(5, 700),
    pad=st.integers(0, 64),
    seed=st.integers(0, 2**16),
)
def test_points_filter_is_within_two_bits_and_padding_is_ignored(
    height: int, width: int, pad: int, seed: int
) -> None:
    plane = _scene(height, width, seed)
    full, q_full = dct16_plane(plane, at_points=False)  # type: ignore[misc]
    points, q_points = dct16_plane(plane)  # type: ignore[misc]
    assert hamming(bits_to_hex(full), bits_to_hex(points)) <= 2
    assert abs(q_full - q_points) <= 1
    padded = np.full((height, width + pad), 255, dtype=np.uint8)
    padded[:, :width] = plane
    again, q_again = dct16_plane(padded, width)  # type: ignore[misc]
    assert np.array_equal(again, points) and q_again == q_points


def test_limited_range_is_stretched() -> None:
    plane = _scene(360, 640, 3)
    limited = np.round(16 + plane.astype(np.float32) * 219 / 255).astype(np.uint8)
    full_dct, full_q = dct16_plane(plane)  # type: ignore[misc]
    lim_dct, lim_q = dct16_plane(limited, black=16, white=235)  # type: ignore[misc]
    # 219 levels instead of 256 move a smooth picture's near-median coefficients a little.
    assert hamming(bits_to_hex(full_dct), bits_to_hex(lim_dct)) <= 16
    assert abs(full_q - lim_q) <= 2
    # Not stretched, the contrast (and so the quality) would be lower.
    _, flat_q = dct16_plane(limited)  # type: ignore[misc]
    assert flat_q < full_q or full_q == 100


def test_bad_planes_are_refused() -> None:
    assert dct16_plane(np.zeros((4, 100), np.uint8)) is None
    with pytest.raises(ValueError):
        dct16_plane(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        dct16_plane(np.zeros((10, 10), np.uint8), 11)
    with pytest.raises(ValueError):
        dct16_plane(np.zeros((10, 10), np.uint8), black=200, white=100)
