"""The exact digest index returns exactly the entries holding a digest, after updates too."""

from __future__ import annotations

import hashlib
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.errors import InvalidHashError
from vigil.index import Md5Index, Sha1Index, Sha256Index

INDEXES = [(Md5Index, hashlib.md5), (Sha1Index, hashlib.sha1), (Sha256Index, hashlib.sha256)]


def digest(fn, i: int) -> str:
    return fn(f"benign {i}".encode()).hexdigest()


def expected(entries, value: str) -> list[int]:
    return sorted(e for e, v in entries if v == value)


@pytest.mark.parametrize(("cls", "fn"), INDEXES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_matches_equal_a_dict(cls, fn, data) -> None:
    n = data.draw(st.integers(0, 60))
    # Few distinct digests, so that several entries share one; and shared 8-byte prefixes.
    values = [digest(fn, data.draw(st.integers(0, 20))) for _ in range(n)]
    twin = values[0][:16] + "0" * (len(values[0]) - 16) if values else None
    entries = list(enumerate(values))
    if twin:
        entries.append((999, twin))
    index = cls.build(entries)
    probes = [digest(fn, i) for i in range(25)] + ([twin] if twin else [])
    for p in probes:
        assert [m.entry_id for m in index.query(p)] == expected(entries, p)
        assert all(m.distance == 0 for m in index.query(p))
    batch = index.query_many(probes)
    for i, p in enumerate(probes):
        assert [m.entry_id for m in batch.for_query(i)] == expected(entries, p)

    added = [(500 + i, digest(fn, i)) for i in range(0, 30, 3)]
    index.add(added)
    gone = set(data.draw(st.lists(st.integers(0, 520), max_size=15)))
    index.disable(gone)
    live = [(e, v) for e, v in entries + added if e not in gone]
    assert len(index) == len(live)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        opened = cls.open(tmp)
        for idx in (index, opened, opened.compact()):
            for p in probes:
                assert [m.entry_id for m in idx.query(p)] == expected(live, p)


def test_upper_case_input_and_errors() -> None:
    value = digest(hashlib.sha1, 1)
    index = Sha1Index.build([(1, value.upper())])
    assert [m.entry_id for m in index.query(value)] == [1]
    assert [m.entry_id for m in index.query(f" {value.upper()}\n")] == [1]
    with pytest.raises(InvalidHashError, match="SHA1 hash: 39 characters"):
        index.query(value[:-1])
    with pytest.raises(InvalidHashError, match="query 1"):
        index.query_many([value, "g" * 40])
    with pytest.raises(InvalidHashError, match="entry 3"):
        Sha1Index.build([(1, value), (3, "x")])
    with pytest.raises(InvalidHashError):
        Md5Index.build([]).query(value)  # a SHA-1 is not an MD5


def test_empty_index_answers_no_match() -> None:
    for cls, fn in INDEXES:
        index = cls.build([])
        assert index.query(digest(fn, 1)) == []
        with tempfile.TemporaryDirectory() as tmp:
            index.save(tmp)
            assert cls.open(tmp).query(digest(fn, 1)) == []


def test_memory_is_digest_bytes_plus_ids() -> None:
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
    index = Sha256Index.from_arrays(np.arange(1000), raw)
    assert index.nbytes() == 1000 * (32 + 8)
