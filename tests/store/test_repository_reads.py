"""The reads the matcher, the catalog and the scan summary use (both backends)."""

from __future__ import annotations

import pytest

from vigil.errors import InvalidHashError, UsageError
from vigil.hashsets.model import Entry, HashSetInfo
from vigil.records import ScanItem
from vigil.store import open_store

PDQ_A, PDQ_B = "a" * 64, "b" * 64
VPDQ = f"0,100,{PDQ_A},0.000"
MD5 = "0123456789abcdef0123456789abcdef"


def _set(store, name: str) -> HashSetInfo:  # type: ignore[no-untyped-def]
    return store.hashsets.replace(
        HashSetInfo(name=name),
        [
            Entry(md5=MD5, pdq=PDQ_A, category="1"),
            Entry(vpdq=VPDQ, category="2"),
            Entry(md5=MD5),
            Entry(pdq=PDQ_B, category="3"),
        ],
    )


def test_get_by_id_and_top_entry(store_url: str) -> None:
    with open_store(store_url) as store:
        info = _set(store, "A")
        assert info.id is not None
        assert store.hashsets.get_by_id(info.id) == info
        assert store.hashsets.get_by_id(info.id + 1000) is None
        assert store.hashsets.top_entry(info.id) == 3
        empty = store.hashsets.replace(HashSetInfo(name="E"), [])
        assert store.hashsets.top_entry(int(empty.id or 0)) == -1


def test_signal_rows(store_url: str) -> None:
    with open_store(store_url) as store:
        set_id = int(_set(store, "A").id or 0)
        assert list(store.hashsets.signal_rows(set_id, "pdq")) == [
            (0, bytes.fromhex(PDQ_A)),
            (3, bytes.fromhex(PDQ_B)),
        ]
        assert list(store.hashsets.signal_rows(set_id, "pdq", after=0)) == [
            (3, bytes.fromhex(PDQ_B))
        ]
        assert list(store.hashsets.signal_rows(set_id, "vpdq")) == [(1, VPDQ)]
        assert list(store.hashsets.signal_rows(set_id, "vpdq", after=1)) == []
        with pytest.raises(UsageError, match="no stored signal"):
            list(store.hashsets.signal_rows(set_id, "md5; DROP TABLE x"))


def test_categories_of_many_entries(store_url: str) -> None:
    with open_store(store_url) as store:
        a = int(_set(store, "A").id or 0)
        b = int(_set(store, "B").id or 0)
        keys = [(a, 0), (a, 2), (a, 3), (b, 1), (b, 99), (a, 0)]
        assert store.hashsets.categories(keys) == {
            (a, 0): "1",
            (a, 2): None,
            (a, 3): "3",
            (b, 1): "2",
        }
        assert store.hashsets.categories([]) == {}
        many = [(a, n % 4) for n in range(1200)]
        assert len(store.hashsets.categories(many)) == 4


def test_exact(store_url: str) -> None:
    with open_store(store_url) as store:
        a = int(_set(store, "A").id or 0)
        b = int(_set(store, "B").id or 0)
        assert store.hashsets.exact("md5", MD5) == [
            (a, 0, "1"),
            (a, 2, None),
            (b, 0, "1"),
            (b, 2, None),
        ]
        assert store.hashsets.exact("pdq", PDQ_B) == [(a, 3, "3"), (b, 3, "3")]
        assert store.hashsets.exact("sha1", "0" * 40) == []
        with pytest.raises(UsageError, match="not an indexed hash type"):
            store.hashsets.exact("vpdq", VPDQ)
        with pytest.raises(InvalidHashError):
            store.hashsets.exact("md5", "zz")


def test_duplicate_count_and_audit_head(store_url: str) -> None:
    with open_store(store_url) as store:
        case, _ = store.cases.open("c")
        assert store.cases.duplicate_count(case) == 0
        assert store.cases.audit_head(case) is None

        def item(path: str, sha: str | None, kind: str = "file", error: str | None = None):  # type: ignore[no-untyped-def]
            return ScanItem(path=path, source=path, kind=kind, sha256=sha, error=error)

        for seq, it in enumerate(
            [
                item("/a", "1" * 64),
                item("/b", "1" * 64),
                item("/c", "1" * 64),
                item("/d", "2" * 64),
                item("/e", "2" * 64, error="unreadable"),
                item("/f", None),
                item("/g", "2" * 64, kind="symlink"),
            ]
        ):
            store.cases.record(case, seq, [it])
        assert store.cases.duplicate_count(case) == 2
        first = store.cases.audit(case, "me", "scan.start", {})
        assert store.cases.audit_head(case) == first
        second = store.cases.audit(case, "me", "scan.finish", {"n": 1})
        assert store.cases.audit_head(case) == second
        assert second.prev == first.hash
