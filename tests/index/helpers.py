"""Benign synthetic PDQ data and a pure-Python brute-force oracle for the index tests."""

from __future__ import annotations

import numpy as np


def random_hex(rng: np.random.Generator) -> str:
    return f"{int.from_bytes(rng.bytes(32), 'big'):064x}"


def flip(hex_value: str, n_bits: int, rng: np.random.Generator) -> str:
    """``hex_value`` with exactly ``n_bits`` distinct bits flipped."""
    value = int(hex_value, 16)
    for b in rng.choice(256, size=n_bits, replace=False):
        value ^= 1 << int(b)
    return f"{value:064x}"


def clustered(rng: np.random.Generator, n: int, centers: int, max_flip: int) -> list[str]:
    """Hashes scattered around a few centres, so that many pairs are near each other."""
    cs = [random_hex(rng) for _ in range(centers)]
    return [
        flip(cs[int(rng.integers(centers))], int(rng.integers(0, max_flip + 1)), rng)
        for _ in range(n)
    ]


def oracle(entries: list[tuple[int, str]], query: str, radius: int) -> list[tuple[int, int]]:
    """(distance, entry_id) of every entry within ``radius``, nearest row per entry, sorted."""
    q = int(query, 16)
    best: dict[int, int] = {}
    for eid, h in entries:
        d = (int(h, 16) ^ q).bit_count()
        if d <= radius and d < best.get(eid, 999):
            best[eid] = d
    return sorted((d, e) for e, d in best.items())
