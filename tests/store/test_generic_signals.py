"""Signals as generic rows (issue 10): hash sets and case items, the upgrade from the
column-per-hash layout, and the bulk loader's sorted runs (issue 16)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo
from vigil.records import ScanItem
from vigil.signals import DIGEST_CODES
from vigil.store import MIGRATIONS, bulkload, open_store
from vigil.store.database import connect
from vigil.store.migrations import current_version, migrate

PDQ = "c" * 64
VPDQ = f"0,100,{PDQ},0.000;30,90,{'d' * 64},1.000"
GENERIC = next(m.version for m in MIGRATIONS if m.name.startswith("signals as generic rows"))


def _columns(db, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    if db.dialect == "sqlite":
        return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
    return [
        r[0]
        for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = current_schema() ORDER BY ordinal_position",
            (table,),
        )
    ]


def test_no_column_per_hash_type(store_url: str) -> None:
    with open_store(store_url) as store:
        for table in ("hash_entries", "hash_signals", "hash_index", "case_items"):
            assert not {"md5", "sha1", "sha256", "pdq", "vpdq"} & set(_columns(store.db, table))
        assert set(_columns(store.db, "case_items")) >= {
            "locator", "deleted", "partition_name", "filesystem", "inode", "image_offset",
        }  # fmt: skip


def test_upgrade_moves_hash_sets_and_case_items(store_url: str) -> None:
    """A store at the version before, with rows, upgraded: every signal kept and usable."""
    db = connect(store_url)
    try:
        assert migrate(db, MIGRATIONS[: GENERIC - 1])[-1] == GENERIC - 1
        md5, sha1, sha256 = "a" * 32, "b" * 40, "e" * 64
        db.execute(
            "INSERT INTO hash_sets (name, kind, imported_at, entry_count) "
            "VALUES ('old', 'alert', '2026-01-01T00:00:00+00:00', 3)"
        )
        set_id = int(db.execute("SELECT id FROM hash_sets")[0][0])
        rows = [
            (0, bytes.fromhex(md5), bytes.fromhex(sha1), None, None, None, "1", '{"tags":["t"]}'),
            (1, None, None, bytes.fromhex(sha256), bytes.fromhex(PDQ), None, "2", None),
            (2, None, None, None, None, VPDQ, None, None),
        ]
        for row in rows:
            db.execute(
                "INSERT INTO hash_entries (set_id, entry_no, md5, sha1, sha256, pdq, vpdq, "
                "category, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (set_id, *row),
            )
        for code, digest, no, cat in (
            (1, md5, 0, "1"), (2, sha1, 0, "1"), (3, sha256, 1, "2"), (4, PDQ, 1, "2"),
        ):  # fmt: skip
            db.execute(
                "INSERT INTO hash_index (hash_type, digest, set_id, entry_no, category) "
                "VALUES (?, ?, ?, ?, ?)",
                (code, bytes.fromhex(digest), set_id, no, cat),
            )
        db.execute("INSERT INTO cases (name, created_at) VALUES ('c', 't')")
        case_id = int(db.execute("SELECT id FROM cases")[0][0])
        for ord_, (path, digest) in enumerate((("/e/a", sha256), ("/e/b", sha256), ("/e/c", md5))):
            db.execute(
                "INSERT INTO case_items (case_id, source, ord, seq, path, depth, kind, md5, "
                "sha256, vpdq, known, notes) VALUES (?, '/e', ?, 0, ?, 0, 'file', ?, ?, ?, 0, ?)",
                (
                    case_id, ord_, path, md5 if ord_ == 2 else None,
                    digest if ord_ < 2 else None, json.dumps([[1, 2]]) if ord_ == 2 else None,
                    json.dumps(["disk image: partition=p1 inode=5 deleted=true"]),
                ),
            )  # fmt: skip
    finally:
        db.close()
    with open_store(store_url) as store:
        assert current_version(store.db) == MIGRATIONS[-1].version
        assert list(store.hashsets.entries("old")) == [
            Entry(md5=md5, sha1=sha1, category="1", tags=("t",)),
            Entry(sha256=sha256, pdq=PDQ, category="2"),
            Entry(vpdq=VPDQ),
        ]
        assert list(store.hashsets.signal_rows(set_id, "pdq")) == [(1, bytes.fromhex(PDQ))]
        assert list(store.hashsets.signal_rows(set_id, "vpdq")) == [(2, VPDQ)]
        assert store.hashsets.exact("sha1", sha1) == [(set_id, 0, "1")]
        assert store.hashsets.counts("old")[0] == {
            "md5": 1, "sha1": 1, "sha256": 1, "pdq": 1, "vpdq": 1,
        }  # fmt: skip
        case = store.cases.require("c")
        items = list(store.cases.items(case))
        assert [i.path for i in items] == ["/e/a", "/e/b", "/e/c"]
        assert items[0].sha256 == sha256 and items[1].duplicate_of == "/e/a"
        assert items[2].md5 == md5 and items[2].vpdq == [[1, 2]] and items[2].sha256 is None
        assert store.cases.duplicate_count(case) == 1
        assert store.hashsets.delete("old")
        for table in ("hash_entries", "hash_signals", "hash_index"):
            assert store.db.execute(f"SELECT COUNT(*) FROM {table}")[0][0] == 0


def test_case_items_keep_signals_locator_and_image_facts(store_url: str) -> None:
    with open_store(store_url) as store:
        case, _ = store.cases.open("c")
        carved = ScanItem(
            path="img.E01!/p2/$Unallocated!/offset-4096.jpg",
            source="/ev/img.E01",
            sha256="1" * 64,
            md5="2" * 32,
            signals={"future-hash": {"frames": [1, 2]}},
            notes=["disk image: partition=p2 filesystem=NTFS offset=4096"],
            locator='{"root": "/ev/img.E01", "steps": []}',
        )
        deleted = ScanItem(
            path="img.E01!/p2/x.jpg",
            source="/ev/img.E01",
            sha256="1" * 64,
            notes=["disk image: partition=p2 filesystem=NTFS inode=64 deleted=true"],
        )
        store.cases.record(case, 0, [carved, deleted])
        got = list(store.cases.items(case))
        assert [i.locator for i in got] == [carved.locator, None]
        assert got[0].signals == {
            "md5": "2" * 32, "sha256": "1" * 64, "future-hash": {"frames": [1, 2]},
        }  # fmt: skip
        assert got[1].duplicate_of == carved.path
        assert store.cases.duplicate_count(case) == 1
        facts = store.db.execute(
            "SELECT deleted, partition_name, filesystem, inode, image_offset FROM case_items "
            "ORDER BY ord"
        )
        assert [tuple(r) for r in facts] == [
            (None, "p2", "NTFS", None, 4096),
            (1, "p2", "NTFS", "64", None),
        ]
        store.cases.record(case, 0, [deleted])  # the source again: replaced, not doubled
        assert store.db.execute("SELECT COUNT(*) FROM case_item_signals")[0][0] == 1


def test_sorted_runs_spill_and_merge(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows than one run: runs go to a file and are merged; lookups see every digest."""
    monkeypatch.setattr(bulkload, "RUN_ROWS", 1000)
    monkeypatch.setattr(bulkload, "BLOCK", 300)
    rng = random.Random(5)
    md5s = [rng.randbytes(16).hex() for _ in range(3500)]
    md5s[10] = md5s[2000] = md5s[3400]  # one digest three times, in three runs
    sha1s = [rng.randbytes(20).hex() for _ in range(3500 - 1701)]
    items: list[Entry | DigestBlock] = [
        DigestBlock("md5", md5s[:1700]),
        Entry(md5=md5s[1700], category="2"),
        DigestBlock("md5", md5s[1701:], others={"sha1": sha1s}),
    ]
    with open_store(store_url) as store:
        info = store.hashsets.replace(HashSetInfo(name="big"), items)
        assert info.entry_count == 3500
        index = store.db.execute(
            "SELECT digest, entry_no FROM hash_index WHERE hash_type = ? ORDER BY digest, entry_no",
            (DIGEST_CODES["md5"],),
        )
        assert [(bytes(d).hex(), n) for d, n in index] == sorted((m, n) for n, m in enumerate(md5s))
        assert [n for _s, n, _c in store.hashsets.exact("md5", md5s[10])] == [10, 2000, 3400]
        assert store.hashsets.exact("md5", md5s[1700])[0][2] == "2"
        assert store.hashsets.exact("sha1", sha1s[5]) == [(info.id, 1706, None)]
        back = list(store.hashsets.entries("big"))
        assert [e.md5 for e in back] == md5s
        assert back[1701].sha1 == sha1s[0] and back[0].sha1 is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["block", "entry"]),
            st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=40),
            st.sampled_from([None, "1", "2"]),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_any_mix_of_blocks_and_entries_round_trips(tmp_path_factory, parts) -> None:  # type: ignore[no-untyped-def]
    """Whatever mix a reader yields, entries() gives it back and every digest is indexed."""
    bulkload_run = 37  # tiny runs: spills and merges in most examples
    url = f"sqlite:///{tmp_path_factory.mktemp('mix') / 's.sqlite3'}"
    original = bulkload.RUN_ROWS, bulkload.BLOCK
    bulkload.RUN_ROWS, bulkload.BLOCK = bulkload_run, 11
    try:
        items: list[Entry | DigestBlock] = []
        expected: list[Entry] = []
        for kind, digests, category, named in parts:
            hexes = [d.hex() for d in digests]
            names = [f"f{i}.jpg" if i % 2 else "" for i in range(len(hexes))] if named else None
            if kind == "block":
                block = DigestBlock("md5", hexes, file_names=names)
                items.append(block)
                expected += block.entries()
            else:
                for h in hexes:
                    entry = Entry(md5=h, category=category)
                    items.append(entry)
                    expected.append(entry)
        with open_store(url) as store:
            store.hashsets.replace(HashSetInfo(name="m"), items)
            assert list(store.hashsets.entries("m")) == expected
            rows = store.db.execute("SELECT digest, entry_no, category FROM hash_index")
            assert sorted((bytes(d).hex(), n, c) for d, n, c in rows) == sorted(
                (e.md5, n, e.category) for n, e in enumerate(expected)
            )
    finally:
        bulkload.RUN_ROWS, bulkload.BLOCK = original


def test_blocks_keep_names_sizes_and_extras(store_url: str) -> None:
    """What plain lists carry beside their digests comes back as entry metadata."""
    md5s = [f"{i:032x}" for i in range(4)]
    sha1s = [f"{i:040x}" for i in range(4)]
    blocks = [
        DigestBlock("md5", md5s[:2], file_names=["a é.jpg", ""]),
        DigestBlock(
            "md5",
            md5s[2:],
            others={"sha1": sha1s[2:]},
            file_names=["c.jpg", "d,e.jpg"],
            sizes=[10, None],
            extras=[{"nsrl_products": ["p 1"]}, None],
        ),
    ]
    expected = [e for b in blocks for e in b.entries()]
    assert expected[0].file_names == ("a é.jpg",) and expected[2].media_size == 10
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="named"), blocks)
        assert list(store.hashsets.entries("named")) == expected
        assert store.hashsets.counts("named")[0] == {"md5": 4, "sha1": 2}
