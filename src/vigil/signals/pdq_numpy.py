"""A pure-numpy PDQ core, bit-identical to the C core and the reference.

Used when the C extension is not built, and in tests as an independent second
implementation. Each running-sum box filter is written as one cumulative sum over
the sequence of additions and subtractions that the reference performs; numpy's
accumulate is sequential in float32, so every rounding happens as in the reference.
It is exact but about three times slower than the reference, and far slower than
the C core.
"""

from __future__ import annotations

import math

import numpy as np

_F32 = np.float32


def _dct_matrix() -> np.ndarray:
    scale = float(_F32(math.sqrt(2.0 / 64)))
    i = np.arange(1, 17, dtype=np.float64)[:, np.newaxis]
    j = np.arange(64, dtype=np.float64)[np.newaxis, :]
    return (scale * np.cos(((math.pi / 2.0 / 64.0) * i) * (2 * j + 1))).astype(_F32)


DCT_MATRIX = _dct_matrix()


def _window(old: int, new: int = 64) -> int:
    return (old + 2 * new - 1) // (2 * new)


def box_rows(a: np.ndarray, window: int) -> np.ndarray:
    """Running-sum box filter along the last axis of a float32 matrix, as the reference."""
    n, length = a.shape
    half = (window + 2) // 2
    steady = length - window
    ops = np.empty((n, window + 2 * steady + half - 1), dtype=_F32)
    ops[:, :window] = a[:, :window]
    pairs = ops[:, window : window + 2 * steady].reshape(n, steady, 2)
    pairs[:, :, 0] = a[:, window:]
    np.negative(a[:, :steady], out=pairs[:, :, 1])
    np.negative(a[:, steady : steady + half - 1], out=ops[:, window + 2 * steady :])
    sums = np.cumsum(ops, axis=1, dtype=_F32)
    out = np.empty((n, length), dtype=_F32)
    grow = window - half + 1
    out[:, :grow] = sums[:, half - 1 : window] / np.arange(half, window + 1, dtype=_F32)
    out[:, grow : grow + steady] = sums[:, window + 1 : window + 2 * steady : 2] / _F32(window)
    out[:, grow + steady :] = sums[:, window + 2 * steady :] / np.arange(
        window - 1, window - half, -1, dtype=_F32
    )
    return out


def luma(rgb: np.ndarray, mode: str = "pdqhash") -> np.ndarray:
    """Float32 luma as the pdqhash binding (``pdqhash``) or the C++ library (``cpp``) makes it."""
    if mode == "pdqhash":
        return (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(_F32)
    c = rgb.astype(_F32)
    return (_F32(0.299) * c[:, :, 0] + _F32(0.587) * c[:, :, 1]) + _F32(0.114) * c[:, :, 2]


def dct16(rgb: np.ndarray, mode: str = "pdqhash") -> tuple[np.ndarray, int]:
    """The 16x16 DCT and the quality of an RGB image at least 5 pixels on each side."""
    return dct16_from_luma(luma(rgb, mode))


def dct16_from_luma(x: np.ndarray) -> tuple[np.ndarray, int]:
    """The 16x16 DCT and the quality of a float32 luma plane at least 5 pixels a side."""
    height, width = x.shape
    if (height, width) == (64, 64):
        b = x
    else:
        for _ in range(2):
            x = box_rows(x, _window(width))
            x = box_rows(np.ascontiguousarray(x.T), _window(height)).T
        rows = ((np.arange(64) + 0.5) * height / 64).astype(np.int64)
        cols = ((np.arange(64) + 0.5) * width / 64).astype(np.int64)
        b = x[np.ix_(rows, cols)]
    down = np.trunc(((b[:-1] - b[1:]) * _F32(100)) / _F32(255))
    across = np.trunc(((b[:, :-1] - b[:, 1:]) * _F32(100)) / _F32(255))
    gradient = int(np.abs(down).astype(np.int64).sum() + np.abs(across).astype(np.int64).sum())
    quality = min(gradient // 90, 100)
    t = np.zeros((16, 64), _F32)
    for k in range(64):
        t += DCT_MATRIX[:, k : k + 1] * b[k : k + 1, :]
    out = np.zeros((16, 16), _F32)
    for k in range(64):
        out += t[:, k : k + 1] * DCT_MATRIX[np.newaxis, :, k]
    return out, quality
