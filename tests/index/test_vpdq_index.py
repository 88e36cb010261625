"""The vPDQ index scores videos exactly as the reference rule (match_percentages) does."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.errors import InvalidHashError, UsageError
from vigil.index import VpdqIndex
from vigil.signals.vpdq import VpdqFrame, match_percentages, to_reference_lines

from .helpers import flip, random_hex


def video(rng: np.random.Generator, base: list[str], n: int, max_flip: int) -> list[VpdqFrame]:
    """Frames near the ``base`` frames (benign synthetic hashes), some of low quality."""
    frames = []
    for i in range(n):
        h = flip(base[int(rng.integers(len(base)))], int(rng.integers(0, max_flip + 1)), rng)
        quality = 100 if rng.random() > 0.15 else 20
        frames.append(VpdqFrame(h, quality, i, float(i)))
    if n and rng.random() < 0.3:
        frames.append(frames[0])  # duplicate hash: counted once
    return frames


def reference(videos: dict[int, list[VpdqFrame]], query: list[VpdqFrame], radius: int):
    out = {}
    for vid, frames in videos.items():
        qp, cp = match_percentages(query, frames, distance_threshold=radius)
        if qp > 0:
            out[vid] = (qp, cp)
    return out


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.sampled_from([0, 10, 31, 40]),
    mih=st.sampled_from([False, False, False, True]),
)
def test_scores_equal_reference_rule(seed: int, radius: int, mih: bool) -> None:
    rng = np.random.default_rng(seed)
    scenes = [random_hex(rng) for _ in range(6)]
    videos = {
        vid: video(rng, list(rng.choice(scenes, size=3)), int(rng.integers(0, 12)), 45)
        for vid in range(10)
    }
    index = VpdqIndex.build(videos.items(), mih_min_rows=0 if mih else None)
    query = video(rng, list(rng.choice(scenes, size=2)), 8, 45)
    want = reference(videos, query, radius)
    got = {m.entry_id: (m.query_percent, m.compared_percent) for m in index.scores(query, radius)}
    assert got.keys() == want.keys()
    for vid, (qp, cp) in want.items():
        assert got[vid] == pytest.approx((qp, cp))

    # Thresholds: the reference verdict (query >= 80%, compared >= 0% by default).
    matched = {m.entry_id for m in index.query(query, radius)}
    assert matched == {v for v, (qp, _) in want.items() if qp >= 80.0}
    strict = {m.entry_id for m in index.query(query, radius, query_percent=50, compared_percent=50)}
    assert strict == {v for v, (qp, cp) in want.items() if qp >= 50 and cp >= 50}

    # Updates and a round trip to disk.
    index.disable([0, 1])
    extra = video(rng, scenes[:2], 5, 10)
    index.add([(42, ";".join(to_reference_lines(extra)))])
    live = {v: f for v, f in videos.items() if v not in (0, 1)} | {42: extra}
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        opened = VpdqIndex.open(tmp)
        for idx in (index, opened, opened.compact()):
            got = {
                m.entry_id: (m.query_percent, m.compared_percent) for m in idx.scores(query, radius)
            }
            want = reference(live, query, radius)
            assert got.keys() == want.keys()
            for vid, pair in want.items():
                assert got[vid] == pytest.approx(pair)


def test_empty_and_unusable() -> None:
    rng = np.random.default_rng(2)
    assert VpdqIndex.build([]).query([VpdqFrame(random_hex(rng), 100, 0, 0.0)]) == []
    h = random_hex(rng)
    index = VpdqIndex.build([(1, [VpdqFrame(h, 100, 0, 0.0)]), (2, [VpdqFrame(h, 10, 0, 0.0)])])
    assert [m.entry_id for m in index.query([VpdqFrame(h, 90, 0, 0.0)])] == [1]
    assert index.query([VpdqFrame(h, 10, 0, 0.0)]) == []  # no usable query frame
    assert index.counts == {1: 1, 2: 0}


def test_errors() -> None:
    index = VpdqIndex.build([(1, f"0,100,{'a' * 64},0.000")])
    with pytest.raises(InvalidHashError, match="query:1"):
        index.query("0,100,nothex,0.0")
    with pytest.raises(InvalidHashError, match="entry 5"):
        VpdqIndex.build([(5, "0,100,abc,0.0")])
    with pytest.raises(UsageError, match="already indexed"):
        index.add([(1, f"0,100,{'b' * 64},0.000")])
    index.disable([1])
    assert index.add([(1, f"0,100,{'b' * 64},0.000")]) == 1
    assert [m.entry_id for m in index.query(f"0,100,{'b' * 64},0.0")] == [1]
    assert index.query(f"0,100,{'a' * 64},0.0") == []
