"""Plain lists stored by columns (``hash_blocks``, issue 16): everything users do with an
entry still works on both backends: export with names, lookups, merges and removals,
notes, curation, counts, the near-match indexes' reads, deletion and replacement."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.errors import HashSetError
from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo
from vigil.services.hashsets import HashSets, export_set, import_file
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.store import Store, bulkload, open_store
from vigil.store.bulkload import BlockColumns, encode_texts
from vigil.store.content_ids import ContentIdRepository
from vigil.store.hashset_history import HistoryEvent
from vigil.store.migrations import MIGRATIONS

RNG = random.Random(16)


def _hex(size: int) -> str:
    return RNG.randbytes(size).hex()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def _md5sum(path: Path, n: int) -> tuple[Path, list[str], list[str]]:
    md5s = [_hex(16) for _ in range(n)]
    names = [f"./Users/x/Pictures/{i % 7:03d}/IMG_{i:05d}.JPG" for i in range(n)]
    names[3] = './caf\u00e9/\u00e9t\u00e9 2019, "quoted".jpg'
    path.write_text("".join(f"{h}  {p}\n" for h, p in zip(md5s, names, strict=True)), "utf-8")
    return path, md5s, names


def _blocks(store: Store) -> int:
    return int(store.db.execute("SELECT COUNT(*) FROM hash_blocks")[0][0])


def test_migration_11_adds_the_blocks_table() -> None:
    assert MIGRATIONS[10].version == 11 and "hash_blocks" in MIGRATIONS[10].sqlite
    assert "hash_blocks" in MIGRATIONS[10].postgres


def test_md5sum_round_trip_keeps_every_name(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real md5sum file through import (blocks, several per column) and export: the
    same lines back, names included; nothing went to hash_signals or entry metadata."""
    monkeypatch.setattr(bulkload, "BLOCK", 64)
    source, md5s, names = _md5sum(tmp_path / "MD5SUMS", 300)
    report = import_file(store.hashsets, source, name="L", format_name="md5sum")
    assert report.imported == 300
    assert _blocks(store) == 2 * 5  # digests and names, 5 blocks of at most 64
    assert store.db.execute("SELECT COUNT(*) FROM hash_signals")[0][0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM hash_entries WHERE meta IS NOT NULL")[0][0] == 0
    out = tmp_path / "back.md5"
    assert export_set(store.hashsets, "L", "md5sum", out) == 300
    assert out.read_text("utf-8") == source.read_text("utf-8")
    back = list(store.hashsets.entries("L"))
    assert [e.file_names for e in back] == [(n,) for n in names]
    info = store.hashsets.require("L")
    found = store.hashsets.lookup([("md5", md5s[200])])
    assert [(m.set_name, m.entry_no) for m in found] == [("L", 200)]
    keys = [(int(info.id or 0), 3), (int(info.id or 0), 299)]
    assert store.hashsets.metadata(keys) == {
        keys[0]: {"file_names": [names[3]]},
        keys[1]: {"file_names": [names[299]]},
    }
    assert store.hashsets.counts("L") == ({"md5": 300}, {None: 300})


def test_merge_note_and_remove_on_block_entries(store: Store, tmp_path: Path) -> None:
    """Entry-level changes to a block entry: its row wins over the block, the rest stays."""
    source, md5s, names = _md5sum(tmp_path / "MD5SUMS", 50)
    sets = HashSets(store)
    sets.import_file(source, name="L", format_name="md5sum")
    info = store.hashsets.require("L")
    set_id = int(info.id or 0)
    sha1 = _hex(20)
    event = HistoryEvent(mode="merge")
    store.hashsets.apply("L", [Entry(md5=md5s[7], sha1=sha1, category="2")], event)
    assert (event.added, event.updated) == (0, 1)
    entry = list(store.hashsets.entries("L"))[7]
    assert (entry.md5, entry.sha1, entry.category, entry.file_names) == (
        md5s[7], sha1, "2", (names[7],)
    )  # fmt: skip
    assert store.hashsets.exact("sha1", sha1) == [(set_id, 7, "2")]
    assert store.hashsets.exact("md5", md5s[7]) == [(set_id, 7, "2")]
    assert store.hashsets.counts("L")[0] == {"md5": 50, "sha1": 1}
    # a note (HMA's content ids repository) on another block entry keeps its name
    assert ContentIdRepository(store.db).set_note(set_id, 9, "seen twice")
    row = next(store.hashsets.entry_rows(set_id, 9))
    assert row[1] == {"md5": md5s[9]}
    assert sets.entry("L", 9)["note"] == "seen twice"
    assert list(store.hashsets.entries("L"))[9].metadata() == {
        "file_names": [names[9]],
        "comments": "seen twice",
    }
    assert ContentIdRepository(store.db).set_note(set_id, 9, None)
    assert list(store.hashsets.entries("L"))[9].metadata() == {"file_names": [names[9]]}
    # a removal withdraws a block entry; the matcher stops finding it
    store.hashsets.apply("L", [Entry(md5=md5s[9])], HistoryEvent(mode="remove"))
    snap = open_snapshot(store)
    assert [f.entry_no for f in Matcher(snap, store).match(Query(md5=md5s[9]))] == []
    assert [f.entry_no for f in Matcher(snap, store).match(Query(md5=md5s[8]))] == [8]
    # curation disables and enables by number
    sets.set_disabled("L", 8, True)
    snap = open_snapshot(store)
    assert [f.entry_no for f in Matcher(snap, store).match(Query(md5=md5s[8]))] == []


def test_delete_and_replace_leave_nothing_behind(store: Store, tmp_path: Path) -> None:
    source, md5s, _names = _md5sum(tmp_path / "MD5SUMS", 40)
    import_file(store.hashsets, source, name="L", format_name="md5sum")
    other = tmp_path / "other.md5"
    other.write_text("".join(f"{_hex(16)}  x{i}\n" for i in range(5)), "utf-8")
    import_file(store.hashsets, other, name="L", format_name="md5sum")  # replaces
    assert store.hashsets.lookup([("md5", md5s[0])]) == []
    assert store.db.execute("SELECT COUNT(*) FROM hash_index")[0][0] == 5
    assert _blocks(store) == 2
    assert HashSets(store).delete_set("L")
    for table in ("hash_index", "hash_entries", "hash_blocks", "hash_signals"):
        assert store.db.execute(f"SELECT COUNT(*) FROM {table}")[0][0] == 0, table


def test_pdq_blocks_reach_the_near_match_index(store: Store) -> None:
    """``signal_rows`` (what the PDQ index is built from) reads blocks and rows in order."""
    pdqs = [_hex(32) for _ in range(30)]
    items: list[Entry | DigestBlock] = [
        DigestBlock("pdq", pdqs[:10]),
        Entry(pdq=pdqs[10], category="1"),
        DigestBlock("pdq", pdqs[11:]),
    ]
    info = store.hashsets.replace(HashSetInfo(name="P"), items)
    rows = list(store.hashsets.signal_rows(int(info.id or 0), "pdq"))
    assert [(no, raw.hex()) for no, raw in rows] == list(enumerate(pdqs))
    after = list(store.hashsets.signal_rows(int(info.id or 0), "pdq", after=14))
    assert [no for no, _raw in after] == list(range(15, 30))
    snap = open_snapshot(store)
    found = Matcher(snap, store).match(Query(pdq=pdqs[20]))
    assert [(f.hashset, f.entry_no) for f in found][:1] == [("P", 20)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=12), min_size=1, max_size=40))
def test_texts_blob_gives_each_text_back(texts: list[str]) -> None:
    """Any names (empty, non-ASCII, NUL, newlines, lone surrogates) come back one by one."""
    blob = encode_texts(texts)
    block = BlockColumns(100, len(texts), {0: blob})
    for i, text in enumerate(texts):
        meta = block.meta(100 + i)
        assert meta == ({"file_names": [text]} if text else {})


def test_categories_reach_the_index_and_too_many_are_refused(store_url: str) -> None:
    """Index rows carry each entry's category (packed with its number, issue 16); a set
    with more distinct categories than the rows can number is refused, not corrupted."""
    md5s = [_hex(16) for _ in range(300)]
    entries = [
        Entry(md5=m, category=None if i % 3 == 0 else f"c\u00e9{i % 7}") for i, m in enumerate(md5s)
    ]
    with open_store(store_url) as store:
        info = store.hashsets.replace(HashSetInfo(name="c"), entries)
        for i in (0, 1, 2, 299):
            assert store.hashsets.exact("md5", md5s[i]) == [(info.id, i, entries[i].category)]
        many = [Entry(md5=f"{i:032x}", category=str(i)) for i in range(0x10001)]
        with pytest.raises(HashSetError, match="65,535"):
            store.hashsets.replace(HashSetInfo(name="c"), many)
        assert store.hashsets.require("c").entry_count == 300  # the old set, untouched
