"""Indexes beside the store: built from it, updated from it without a rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stores import store_url  # noqa: F401  (fixture)
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.services.catalog import Catalog, split_entry_id
from vigil.signals.vpdq import VpdqFrame, to_reference_lines
from vigil.store import open_store

rng = np.random.default_rng(5)


def pdq() -> str:
    return rng.bytes(32).hex()


def near(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def video(n: int = 6) -> str:
    frames = [VpdqFrame(pdq(), 100, i * 30, float(i)) for i in range(n)]
    return ";".join(to_reference_lines(frames))


def put(store, name: str, entries: list[Entry], kind: HashSetKind = HashSetKind.alert) -> None:  # type: ignore[no-untyped-def]
    store.hashsets.replace(HashSetInfo(name=name, kind=kind), entries)


def test_build_update_and_reopen(store_url: str) -> None:  # noqa: F811
    a, b, c = pdq(), pdq(), pdq()
    with open_store(store_url) as store:
        put(store, "first", [Entry(pdq=a, category="1"), Entry(md5="0" * 32)])
        catalog = Catalog(store)
        assert catalog.refresh() is True
        hits = catalog.pdq.query(near(a, 5))
        assert [(split_entry_id(h.entry_id)[1], h.distance) for h in hits] == [(0, 5)]

        put(store, "second", [Entry(pdq=b), Entry(vpdq=video())])
        again = Catalog(store)
        assert again.refresh() is True
        assert again.pdq.delta_size == 1  # added, not rebuilt
        assert len(again.pdq.query(b)) == 1 and len(again.vpdq) == 1

        put(store, "first", [Entry(pdq=c)])  # re-imported: the old entries must go
        third = Catalog(store)
        third.refresh()
        assert third.pdq.query(a) == [] and len(third.pdq.query(c)) == 1

        store.hashsets.delete("second")
        fourth = Catalog(store)
        fourth.refresh()
        assert fourth.pdq.query(b) == [] and len(fourth.vpdq) == 0
        assert Catalog(store).refresh() is False  # nothing changed since: nothing written


def test_empty_store_answers_no_match(store_url: str) -> None:  # noqa: F811
    with open_store(store_url) as store:
        catalog = Catalog(store)
        assert catalog.pdq.query(pdq()) == []
        assert catalog.vpdq.query(video()) == []


@pytest.mark.parametrize("rows", [20_000])
def test_large_delta_is_compacted(store_url: str, rows: int, monkeypatch) -> None:  # noqa: F811
    import vigil.services.catalog as module

    monkeypatch.setattr(module, "COMPACT_MIN_ROWS", 100)
    with open_store(store_url) as store:
        put(store, "base", [Entry(pdq=pdq()) for _ in range(1000)])
        Catalog(store).refresh()
        put(store, "big", [Entry(pdq=pdq()) for _ in range(rows)])
        catalog = Catalog(store)
        catalog.refresh()
        assert catalog.pdq.delta_size == 0 and len(catalog.pdq) == 1000 + rows


def test_an_unreadable_saved_index_is_rebuilt_from_the_store(store_url: str) -> None:  # noqa: F811
    """Indexes are caches: a manifest of a format this Vigil does not know means rebuild."""
    a = pdq()
    with open_store(store_url) as store:
        put(store, "first", [Entry(pdq=a, category="1")])
        catalog = Catalog(store)
        catalog.refresh()
        manifest = catalog.root / "pdq" / "manifest.json"
        manifest.write_text('{"format": "from the future", "segments": []}')
        again = Catalog(store, catalog.root)
        assert again.refresh() is True
        assert [split_entry_id(h.entry_id)[1] for h in again.pdq.query(near(a, 3))] == [0]
