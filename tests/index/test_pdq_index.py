"""The PDQ index returns exactly what brute force returns: random data, radii, updates, disk."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.errors import InvalidHashError, UsageError
from vigil.index import PdqIndex, PdqLinearIndex
from vigil.index.pdq_mih import SLOTS, MihSegment, make_plan

from .helpers import clustered, flip, oracle, random_hex

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every MIH build allocates its full 128 MB of slot tables, even for 300 rows: keep
# the examples that build several indexes few.
FEW = settings(SETTINGS, max_examples=8)


def build_mih(entries, **kw) -> PdqIndex:
    """A PdqIndex whose main segment uses MIH tables even on tiny data (no scan shortcut)."""
    index = PdqIndex.build(entries, mih_min_rows=0, **kw)
    if isinstance(index.main, MihSegment):
        index.main.allow_scan = False
    return index


def found(index, query: str, radius: int) -> list[tuple[int, int]]:
    return [(m.distance, m.entry_id) for m in index.query(query, radius)]


def check_all(index, entries, queries, radius) -> None:
    for q in queries:
        expected = oracle(entries, q, radius)
        assert found(index, q, radius) == expected
        assert index.has_match(q, radius) is bool(expected)
    batch = index.query_many(queries, radius, workers=2)
    for i, q in enumerate(queries):
        assert [(m.distance, m.entry_id) for m in batch.for_query(i)] == oracle(entries, q, radius)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), radius=st.integers(0, 64))
def test_mih_equals_brute_force(seed: int, n: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    hashes = clustered(rng, n, centers=int(rng.integers(1, 4)), max_flip=70)
    entries = list(enumerate(hashes))
    queries = clustered(rng, 5, 2, 40) + [
        flip(h, int(rng.integers(0, 40)), rng) for h in hashes[:5]
    ]
    index = build_mih(entries)
    check_all(index, entries, queries, radius)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1), radius=st.sampled_from([0, 1, 31, 32, 90, 128, 255, 256, 300])
)
def test_any_radius_including_scan_fallback(seed: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    entries = list(enumerate(clustered(rng, 150, 2, 140)))
    queries = [random_hex(rng), entries[0][1], flip(entries[1][1], 100, rng)]
    index = PdqIndex.build(entries, mih_min_rows=0)  # the cost model may choose a scan
    check_all(index, entries, queries, min(radius, 256))


def test_boundary_31_and_32() -> None:
    rng = np.random.default_rng(7)
    query = random_hex(rng)
    entries = [(d, flip(query, d, rng)) for d in range(0, 41)]
    for index in (build_mih(entries), PdqLinearIndex.build(entries)):
        got = index.query(query)  # default threshold 31
        assert [m.entry_id for m in got] == list(range(32))
        assert [m.distance for m in got] == list(range(32))
        assert [m.entry_id for m in index.query(query, 32)] == list(range(33))
        assert [m.entry_id for m in index.query(query, 30)] == list(range(31))


def test_plan_is_exact_by_pigeonhole() -> None:
    for radius in range(0, 84):
        plan = make_plan(radius, 10_000_000, allow_scan=False)
        assert plan is not None
        assert sum(t + 1 for t in plan.budgets) > radius
    assert make_plan(31, 10_000_000).budgets.count(-1) == 0
    assert make_plan(200, 10_000_000) is None  # no plan: scanned instead


@FEW
@given(seed=st.integers(0, 2**32 - 1), radius=st.integers(0, 48))
def test_adds_disables_save_open_compact(seed: int, radius: int) -> None:
    rng = np.random.default_rng(seed)
    hashes = clustered(rng, 200, 2, 50)
    entries = list(enumerate(hashes[:120]))
    index = build_mih(entries)
    queries = [flip(h, int(rng.integers(0, 35)), rng) for h in hashes[::25]]

    added = [(1000 + i, h) for i, h in enumerate(hashes[120:])]
    assert index.add(added) == len(added)
    live = entries + added
    gone = {int(x) for x in rng.choice([e for e, _ in live], size=40, replace=False)}
    index.disable(gone)
    live = [(e, h) for e, h in live if e not in gone]
    # Re-adding a disabled id with a new hash: only the new row matches.
    readd = (min(gone), hashes[0])
    index.add([readd])
    live.append(readd)
    assert len(index) == len(live)
    check_all(index, live, queries, radius)

    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        opened = PdqIndex.open(tmp)
        opened.main.allow_scan = False
        check_all(opened, live, queries, radius)
        # Updates after opening, saved incrementally into the same directory.
        opened.disable([live[0][0]])
        opened.add([(5000, queries[0])])
        live2 = [(e, h) for e, h in live if e != live[0][0]] + [(5000, queries[0])]
        opened.save(tmp)
        again = PdqIndex.open(tmp, in_memory=radius % 2 == 0)
        check_all(again, live2, queries, radius)
        compacted = again.compact()
        assert compacted.delta_size == 0
        check_all(compacted, live2, queries, radius)


def triples(hits) -> list[tuple[int, int, int]]:
    return sorted(zip(*[x.tolist() for x in hits], strict=True))


def test_numpy_path_equals_c_path() -> None:
    rng = np.random.default_rng(3)
    entries = list(enumerate(clustered(rng, 400, 3, 60)))
    index = build_mih(entries)
    queries = np.stack([index.main.words[i] for i in range(0, 400, 40)])
    for radius in (0, 5, 31, 47):
        a = index.main.search(queries, radius, use_c=True)
        b = index.main.search(queries, radius, use_c=False)
        assert triples(a) == triples(b)


def test_linear_index_and_default_equal() -> None:
    rng = np.random.default_rng(11)
    entries = list(enumerate(clustered(rng, 300, 2, 60)))
    queries = [flip(h, 20, rng) for _, h in entries[:10]]
    mih, linear = build_mih(entries), PdqLinearIndex.build(entries)
    for q in queries:
        assert mih.query(q) == linear.query(q)
    with tempfile.TemporaryDirectory() as tmp:
        linear.save(tmp)
        assert PdqLinearIndex.open(tmp).query(queries[0]) == linear.query(queries[0])
        with pytest.raises(UsageError, match="pdq-linear"):
            PdqIndex.open(tmp)


def test_empty_index_answers_no_match() -> None:
    index = PdqIndex.build([])
    assert index.query("f" * 64) == []
    assert len(index.query_many(["0" * 64, "f" * 64])) == 0
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        assert PdqIndex.open(tmp).query("f" * 64) == []


def test_bad_hash_is_named() -> None:
    index = PdqIndex.build([(1, "a" * 64)])
    with pytest.raises(InvalidHashError, match="non-hex character 'z'"):
        index.query("z" * 64)
    with pytest.raises(InvalidHashError, match=r"query 1: .*63 characters"):
        index.query_many(["a" * 64, "a" * 63])
    with pytest.raises(InvalidHashError, match="entry 7"):
        PdqIndex.build([(1, "a" * 64), (7, "0x" + "a" * 62)])
    with pytest.raises(UsageError):
        index.query("a" * 64, -1)


def test_upper_case_and_whitespace_are_canonicalised() -> None:
    h = "ABCDEF0123456789" * 4
    index = PdqIndex.build([(1, h)])
    assert index.query(f" {h.lower()} ")[0].entry_id == 1
    assert index.query_many([h]).for_query(0)[0].distance == 0


def test_quality_threshold() -> None:
    rng = np.random.default_rng(5)
    good, poor = random_hex(rng), random_hex(rng)
    index = PdqIndex.build([(1, good, 90), (2, poor, 10), (3, poor)])
    assert index.skipped_low_quality == 1
    assert [m.entry_id for m in index.query(poor)] == [3]
    assert index.query(good, quality=49) == []
    assert [m.entry_id for m in index.query(good, quality=50)] == [1]
    batch = index.query_many([good, good], qualities=[10, 80])
    assert batch.query.tolist() == [1]
    lenient = PdqIndex.build([(2, poor, 10)], quality_threshold=0)
    assert [m.entry_id for m in lenient.query(poor, quality=0)] == [2]


def test_duplicate_rows_of_one_entry_report_the_nearest() -> None:
    rng = np.random.default_rng(9)
    q = random_hex(rng)
    index = build_mih([(1, flip(q, 10, rng)), (1, flip(q, 3, rng)), (2, q)])
    assert [(m.entry_id, m.distance) for m in index.query(q)] == [(2, 0), (1, 3)]


def slot_bits(slot: int) -> list[int]:
    """Bit positions (in the 256-bit integer) of one MIH slot."""
    word, shift, bits = SLOTS[slot]
    return [(3 - word) * 64 + shift + k for k in range(bits)]


def test_adversarial_spread_at_every_radius() -> None:
    """Worst cases for pigeonhole: bits spread so that each slot is just over its budget.

    With a correct plan (sum of budget+1 > radius) such a hash at distance <= radius
    cannot exist without some slot within budget; a plan one bit short misses it.
    """
    rng = np.random.default_rng(1)
    query = random_hex(rng)
    q = int(query, 16)
    radii = range(0, 65)
    entries = [(i, random_hex(rng)) for i in range(64)]
    n_rows = len(entries) + 4 * len(radii)  # the plan depends on the row count
    for radius in radii:
        budgets = make_plan(radius, n_rows, allow_scan=False).budgets
        for eid, distance in ((1000 * radius + 1, radius), (1000 * radius + 2, radius + 1)):
            value, left = q, distance
            for s, t in enumerate(budgets):  # fill each probed slot up to budget + 1
                take = min(t + 1, left)
                for b in rng.choice(slot_bits(s), size=take, replace=False):
                    value ^= 1 << int(b)
                left -= take
            free = [b for b in range(256) if (value ^ q) >> b & 1 == 0]
            for b in rng.choice(free, size=left, replace=False):
                value ^= 1 << int(b)
            entries.append((eid, f"{value:064x}"))
            # Round robin over slots: spreads the distance as evenly as possible.
            value, bits = q, [slot_bits(s) for s in range(12)]
            for k in range(distance):
                value ^= 1 << bits[k % 12][k // 12]
            entries.append((eid + 100, f"{value:064x}"))
    assert len(entries) == n_rows
    index = build_mih(entries)
    for radius in radii:
        assert (
            index.main.plan(radius).budgets == make_plan(radius, n_rows, allow_scan=False).budgets
        )
        assert found(index, query, radius) == oracle(entries, query, radius), radius


def test_counting_sort_equals_stable_argsort() -> None:
    from vigil.index.pdq_mih import _group_rows, _offsets_of

    keys = np.random.default_rng(4).integers(0, 1 << 21, size=5000).astype(np.uint32)
    perm = _group_rows(keys, _offsets_of(keys, 21))
    assert perm.tolist() == np.argsort(keys, kind="stable").tolist()


@pytest.mark.parametrize("base", [0, 2**32 - 10, 2**40, -(2**40)])
def test_entry_ids_of_any_int64(base: int) -> None:
    rng = np.random.default_rng(8)
    hashes = clustered(rng, 20, 1, 20)
    entries = [(base + i, h) for i, h in enumerate(hashes)]
    index = build_mih(entries)
    assert found(index, hashes[0], 31) == oracle(entries, hashes[0], 31)
    index.disable([base + 1])
    live = [e for e in entries if e[0] != base + 1]
    assert found(index, hashes[0], 31) == oracle(live, hashes[0], 31)


def test_without_the_c_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    """The numpy fallback (no compiler at install time) gives the same answers."""
    import vigil.index.pdq_mih as pdq_mih
    import vigil.index.segments as segments

    monkeypatch.setattr(pdq_mih, "_mihcore", None)
    monkeypatch.setattr(segments, "_mihcore", None)
    rng = np.random.default_rng(12)
    entries = list(enumerate(clustered(rng, 200, 2, 60)))
    index = build_mih(entries)
    index.add([(900, entries[0][1])])
    live = [*entries, (900, entries[0][1])]
    queries = [flip(h, 25, rng) for _, h in entries[:6]]
    for radius in (0, 31, 47, 120):
        check_all(index, live, queries, radius)


def test_search_limit_stops_each_query_early() -> None:
    """``limit`` (the yes/no path under ``has_match``): a subset, at most that many per query."""
    rng = np.random.default_rng(11)
    centre = random_hex(rng)
    entries = [(i, flip(centre, i % 20, rng)) for i in range(200)]
    index = build_mih(entries)
    queries = index.main.words[:3].copy()
    full = set(triples(index.main.search(queries, 31)))
    limited = triples(index.main.search(queries, 31, limit=1))
    assert len(full) > 3
    assert set(limited) <= full
    assert sorted(q for q, _, _ in limited) == [0, 1, 2]
    far = random_hex(rng)
    assert index.has_match(centre) and not index.has_match(far, 0)
    index.disable([e for e, _ in entries[1:]])  # tombstones: a dead first hit must not count
    assert index.has_match(centre, 31)  # entry 0 is the centre itself, still live
    index.disable([0])
    assert not index.has_match(centre, 31)


@FEW
@given(seed=st.integers(0, 2**32 - 1), radius=st.integers(0, 48))
def test_sparse_and_dense_c_paths_agree_with_brute_force(seed: int, radius: int) -> None:
    """The C core's two ways (bitmap passes for sparse tables, one walk for dense ones)."""
    rng = np.random.default_rng(seed)
    hashes = clustered(rng, 250, 3, 60)
    entries = list(enumerate(hashes))
    queries = [flip(h, int(rng.integers(0, 40)), rng) for h in hashes[::20]]
    queries.append(random_hex(rng))
    answers = []
    for fill in (1.0, -1.0):
        index = build_mih(entries)
        index.main.bitmap_max_fill = fill
        assert (index.main.nonempty_bitmap() is None) is (fill < 0)
        check_all(index, entries, queries, radius)
        answers.append(triples(index.main.search(index.main.words[:20], radius)))
    assert answers[0] == answers[1]


def test_bucket_bitmap_is_saved_and_indexes_without_it_still_open() -> None:
    """The bitmap is saved beside the tables; an index saved before it existed derives it."""
    rng = np.random.default_rng(5)
    entries = list(enumerate(clustered(rng, 300, 3, 50)))
    queries = [flip(h, 12, rng) for _, h in entries[::30]]
    index = build_mih(entries)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        files = sorted(p.name for p in Path(tmp).glob("*.nonempty.npy"))
        assert len(files) == 1
        opened = PdqIndex.open(tmp)
        assert opened.main.nonempty_bitmap() is not None
        opened.main.allow_scan = False
        check_all(opened, entries, queries, 31)
        (Path(tmp) / files[0]).unlink()  # as saved by the previous version
        older = PdqIndex.open(tmp)
        older.main.allow_scan = False
        check_all(older, entries, queries, 31)
        assert np.array_equal(older.main.nonempty_bitmap(), index.main.nonempty_bitmap())
        older.save(tmp)  # saving again writes the missing file
        assert (Path(tmp) / files[0]).exists()
