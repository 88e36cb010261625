"""Hex digests to fixed-width integer arrays, fast, with the signal types' error messages.

Building an index over ten million hashes cannot afford a Python call per hash, so
parsing is vectorised: all strings are joined, mapped through a 256-entry table and
packed into big-endian 64-bit words. Only when something is off (a wrong length, a
non-hex or non-ASCII character, surrounding white space) do we fall back to the signal
type's own ``validate`` for every value, which raises InvalidHashError naming the first
bad one, so that errors read the same everywhere in Vigil.

A PDQ hash becomes four ``uint64`` words, word 0 holding hex digits 0-15 (the most
significant bits, as the reference prints them); distances are popcounts of XORs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vigil.signals.base import SignalType

_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("0123456789abcdef"):
    _NIBBLE[ord(_c)] = _i
    _NIBBLE[ord(_c.upper())] = _i

_HEXDIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _fast_bytes(values: Sequence[str], n_digits: int) -> np.ndarray | None:
    """(n, n_digits/2) uint8 if every value is exactly ``n_digits`` hex digits, else None."""
    try:
        joined = "".join(values).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    n = len(values)
    if len(joined) != n * n_digits:
        return None
    nib = _NIBBLE[np.frombuffer(joined, dtype=np.uint8)]
    if n and int(nib.max()) == 255:
        return None
    nib = nib.reshape(n, n_digits)
    # A length mismatch that cancels out in the sum ("ab" + 62 digits + 66 digits) is
    # caught here: every single string must have the right length.
    if any(len(v) != n_digits for v in values):
        return None
    return (nib[:, 0::2] << 4) | nib[:, 1::2]


def hex_to_bytes(values: Sequence[str], signal: type[SignalType], n_digits: int) -> np.ndarray:
    """Parse hex digests into an (n, n_digits/2) uint8 array; InvalidHashError names a bad one."""
    values = list(values)
    out = _fast_bytes(values, n_digits)
    if out is None:
        canonical = [signal.validate(v) for v in values]  # raises on the first bad value
        out = _fast_bytes(canonical, n_digits)
        assert out is not None
    return out


def bytes_to_words(raw: np.ndarray) -> np.ndarray:
    """(n, 8k) uint8 big-endian bytes to (n, k) native uint64 words, most significant first."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    return raw.view(">u8").astype(np.uint64)


def words_to_hex(words: np.ndarray) -> list[str]:
    """(n, k) uint64 words back to lower-case hex strings (inverse of the parsers)."""
    raw = np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(len(words), -1)
    digits = np.empty((raw.shape[0], raw.shape[1] * 2), dtype=np.uint8)
    digits[:, 0::2] = _HEXDIGITS[raw >> 4]
    digits[:, 1::2] = _HEXDIGITS[raw & 15]
    width = digits.shape[1]
    text = digits.tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, len(text), width)]


def distances(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distances (int32) between each row of ``words`` (n, k) and one query (k,)."""
    if len(words) == 0:
        return np.zeros(0, dtype=np.int32)
    return np.bitwise_count(words ^ query).sum(axis=1, dtype=np.int32)
