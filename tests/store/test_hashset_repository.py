"""The hash-set repository on both backends: store, read back, count, look up, delete."""

from __future__ import annotations

import pytest

from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo, HashSetKind
from vigil.store import open_store

MD5 = [f"{i:032x}" for i in range(1, 6)]
PDQ = "c" * 64


def _entries() -> list[Entry]:
    return [
        Entry(md5=MD5[0], sha1="1" * 40, category="1", tags=("t",), extra={"MediaID": 1}),
        Entry(md5=MD5[1], pdq=PDQ, category="2", file_names=("a.jpg", "b.jpg")),
        Entry(sha256=PDQ, photodna="opaque"),
        Entry(vpdq=f"0,100,{PDQ},0.000;30,90,{'d' * 64},1.000", category="1"),
        Entry(md5=MD5[2]),
    ]


def test_replace_then_read_back_in_order(store_url: str) -> None:
    with open_store(store_url) as store:
        info = store.hashsets.replace(
            HashSetInfo(name="A", kind=HashSetKind.watch, category_profile="vics-us"), _entries()
        )
        assert (info.name, info.kind, info.entry_count) == ("A", "watch", 5)
        assert list(store.hashsets.entries("A")) == _entries()
        by_type, by_category = store.hashsets.counts("A")
        assert by_type == {"md5": 3, "sha1": 1, "sha256": 1, "pdq": 1, "vpdq": 1, "photodna": 1}
        assert by_category == {None: 2, "1": 2, "2": 1}


def test_digest_blocks_mix_with_entries(store_url: str) -> None:
    with open_store(store_url) as store:
        items = [
            Entry(md5=MD5[0], comments="x"),
            DigestBlock("md5", MD5[1:3]),
            Entry(sha1="2" * 40),
        ]
        store.hashsets.replace(HashSetInfo(name="B"), items)
        got = list(store.hashsets.entries("B"))
        assert got == [
            Entry(md5=MD5[0], comments="x"),
            Entry(md5=MD5[1]),
            Entry(md5=MD5[2]),
            Entry(sha1="2" * 40),
        ]


def test_lookup_finds_every_set_with_category_and_distinguishes_sha256_from_pdq(
    store_url: str,
) -> None:
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="A", category_profile="vics-us"), _entries())
        store.hashsets.replace(
            HashSetInfo(name="NSRL", kind=HashSetKind.ignore), [Entry(md5=MD5[0])]
        )
        hits = store.hashsets.lookup([("md5", MD5[0]), ("md5", MD5[4]), ("pdq", PDQ)])
        assert [(m.hash_type, m.set_name, m.kind, m.category) for m in hits] == [
            ("md5", "A", "alert", "1"),
            ("md5", "NSRL", "ignore", None),
            ("pdq", "A", "alert", "2"),
        ]
        assert [m.entry_no for m in store.hashsets.lookup([("sha256", PDQ)])] == [2]
        assert store.hashsets.lookup([]) == []


def test_replace_and_delete_keep_the_index_exact(store_url: str) -> None:
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="A"), _entries())
        store.hashsets.replace(HashSetInfo(name="C"), [Entry(md5=MD5[0])])
        store.hashsets.replace(HashSetInfo(name="A"), [Entry(md5=MD5[3])])
        assert [m.set_name for m in store.hashsets.lookup([("md5", MD5[0])])] == ["C"]
        assert store.hashsets.delete("A") and not store.hashsets.delete("A")
        assert store.hashsets.lookup([("md5", MD5[3])]) == []
        assert [i.name for i in store.hashsets.list()] == ["C"]
        assert store.db.execute("SELECT COUNT(*) FROM hash_index")[0][0] == 1
        assert store.db.execute("SELECT COUNT(*) FROM hash_entries")[0][0] == 1


def test_a_failure_inside_replace_rolls_back(store_url: str) -> None:
    def broken():  # type: ignore[no-untyped-def]
        yield Entry(md5=MD5[0])
        raise RuntimeError("disk on fire")

    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="A"), [Entry(md5=MD5[1])])
        with pytest.raises(RuntimeError, match="disk on fire"):
            store.hashsets.replace(HashSetInfo(name="A"), broken())
        assert list(store.hashsets.entries("A")) == [Entry(md5=MD5[1])]
        assert store.hashsets.lookup([("md5", MD5[0])]) == []


def test_attributes_and_provenance_are_kept(store_url: str) -> None:
    with open_store(store_url) as store:
        info = HashSetInfo(
            name="A",
            provenance="file /x.json",
            version="VICS 2.0",
            source_format="vics",
            source_sha256="0" * 64,
            attributes={"vics_case": {"CaseID": "c"}},
        )
        stored = store.hashsets.replace(info, [])
        assert stored.entry_count == 0 and stored.imported_at is not None
        again = store.hashsets.require("A")
        assert (again.provenance, again.version, again.attributes) == (
            "file /x.json",
            "VICS 2.0",
            {"vics_case": {"CaseID": "c"}},
        )


def test_blocks_and_entries_interleaved_index_every_digest(store_url: str) -> None:
    md5s = [f"{i:030x}00" for i in range(10)]  # trailing NUL bytes must survive
    items = [
        DigestBlock("md5", md5s[:4]),
        Entry(md5=md5s[4], category="1"),
        DigestBlock("md5", md5s[5:7]),
        DigestBlock("sha1", ["0" * 40]),
        Entry(sha1="1" * 40),
        DigestBlock("md5", md5s[7:]),
    ]
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="S"), items)
        hits = store.hashsets.lookup([("md5", m) for m in md5s] + [("sha1", "0" * 40)])
        assert sorted((h.hash, h.entry_no) for h in hits if h.hash_type == "md5") == [
            (m, i if i < 7 else i + 2) for i, m in enumerate(md5s)
        ]
        assert [h.category for h in hits if h.hash == md5s[4]] == ["1"]
        assert store.db.execute("SELECT COUNT(*) FROM hash_index")[0][0] == 12
        assert [e.md5 for e in store.hashsets.entries("S")][:4] == md5s[:4]
