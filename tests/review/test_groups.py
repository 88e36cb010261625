"""Near-duplicate groups: connected components of PDQ neighbours, exact against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.review.groups import Medium, components, group_media, pdq_groups
from vigil.signals.pdq import hamming


def _naive_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [min(i for i in range(n) if find(i) == find(x)) for x in range(n)]


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60)
)))  # fmt: skip
def test_components_match_a_union_find(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = case
    a = np.array([e[0] for e in edges], np.int64)
    b = np.array([e[1] for e in edges], np.int64)
    assert components(n, a, b).tolist() == _naive_components(n, edges)


def _flip(hex_hash: str, bits: list[int]) -> str:
    value = int(hex_hash, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=12), st.integers(0, 60))
def test_pdq_groups_equal_brute_force(seeds: list[int], distance: int) -> None:
    rng = np.random.default_rng(len(seeds) + distance)
    hashes = []
    for seed in seeds:  # a few hashes and near copies of them
        base = f"{seed:064x}"
        hashes.append(base)
        hashes.append(
            _flip(base, rng.choice(256, int(rng.integers(0, 50)), replace=False).tolist())
        )
    edges = [
        (i, j)
        for i in range(len(hashes))
        for j in range(i + 1, len(hashes))
        if hamming(hashes[i], hashes[j]) <= distance
    ]
    got = pdq_groups(hashes, [100] * len(hashes), distance=distance, workers=1)
    assert got.tolist() == _naive_components(len(hashes), edges)


def test_low_quality_pictures_stay_alone_and_groups_are_numbered_in_order() -> None:
    flat = "0" * 64
    media = [
        Medium("a", "f" * 64, 100),
        Medium("b", flat, 0),
        Medium("c", _flip("f" * 64, [1, 2, 3]), 100),
        Medium("d", flat, 0),
        Medium("e", None, None),  # neither PDQ nor vPDQ
    ]
    assert group_media(media) == [1, 2, 1, 3, 4]
