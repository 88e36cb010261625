"""Readers of digest lists yield DigestBlocks for plain blocks (issue 16) and entries
for the rest, and both give the same entries as reading every line one by one."""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets.helpers import read_all, rewrite
from vigil.hashsets.formats import checksum, get_format, hashdeep, nsrl_rds2
from vigil.hashsets.formats.base import ReadContext
from vigil.hashsets.formats.nsrl import SCHEMA
from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo, Rejected, expand
from vigil.services.hashsets import import_file
from vigil.store import open_store

RNG = random.Random(7)


def _read(name: str, path: Path) -> list[Entry | DigestBlock | Rejected]:
    return list(get_format(name).read(ReadContext(path)))


def test_md5sum_plain_blocks_and_odd_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksum, "_BLOCK", 200)
    md5s = [RNG.randbytes(16).hex().upper() for _ in range(40)]
    lines = [f"{h}  dir/file {i}.jpg" for i, h in enumerate(md5s)]
    lines[5] = f"{md5s[5]} *-"  # standard input: no name
    lines[20] = "# a comment"
    lines[30] = "\\" + md5s[30] + "  a\\nb"  # an escaped name
    path = tmp_path / "MD5SUMS"
    path.write_text("\n".join(lines))  # no newline at the end
    items = _read("md5sum", path)
    assert any(isinstance(i, DigestBlock) for i in items)
    assert any(isinstance(i, Entry) for i in items)
    got = list(expand(items))
    assert len(got) == 39
    assert got[0] == Entry(md5=md5s[0].lower(), file_names=("dir/file 0.jpg",))
    assert got[5] == Entry(md5=md5s[5].lower())
    assert got[29] == Entry(md5=md5s[30].lower(), file_names=("a\nb",))
    assert [e.md5 for e in got] == [h.lower() for i, h in enumerate(md5s) if i != 20]


def test_md5sum_bad_line_in_a_block_is_named(tmp_path: Path) -> None:
    path = tmp_path / "MD5SUMS"
    path.write_text(f"{'a' * 32}  x\n{'b' * 31}  y\n")
    items = _read("md5sum", path)
    rejected = [str(i) for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1 and rejected[0].startswith(f"{path}:2: ")
    assert list(expand(i for i in items if not isinstance(i, Rejected))) == [
        Entry(md5="a" * 32, file_names=("x",))
    ]


def test_hashdeep_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashdeep, "_BLOCK", 300)
    rows = [
        (RNG.randrange(10**6), RNG.randbytes(16).hex(), RNG.randbytes(32).hex()) for _ in range(30)
    ]
    text = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "## invoked", "##"]
    text += [f"{s},{m},{h},/d/f,{i}.jpg" for i, (s, m, h) in enumerate(rows)]
    path = tmp_path / "a.hashdeep"
    path.write_text("\n".join(text) + "\n")
    items = _read("hashdeep", path)
    assert any(isinstance(i, DigestBlock) for i in items)
    got = list(expand(items))
    assert got == [
        Entry(md5=m, sha256=h, media_size=s, file_names=(f"/d/f,{i}.jpg",))
        for i, (s, m, h) in enumerate(rows)
    ]


def test_nsrl_v3_blocks(tmp_path: Path) -> None:
    path = tmp_path / "rds.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO VERSION VALUES ('t', 'minimal', '', '', 'test')")
    triples = [tuple(RNG.randbytes(k).hex().upper() for k in (32, 20, 16)) for _ in range(50)]
    for i, t in enumerate(triples):
        db.execute("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", (*t, "00000000", f"f{i}", i, 1))
    db.commit()
    db.close()
    items = _read("nsrl", path)
    assert items and all(isinstance(i, DigestBlock) for i in items)
    got = sorted((e.sha256, e.sha1, e.md5) for e in expand(items))
    assert got == sorted(tuple(v.lower() for v in t) for t in triples)


def test_block_metadata_is_what_entries_store(store_url: str) -> None:
    """A block's names, sizes and extras, stored by columns (issue 16), come back as the
    metadata ``Entry.metadata()`` gives each entry: missing sizes and names, non-ASCII
    and quoted names, sizes past 64 bits, both backends; and a match's hit gets them."""
    names = ["a.jpg", "", 'q"uo\\te\n\u00e9\U0001f600', "", "x"]
    sizes: list[int | None] = [0, 7, None, None, 2**70]
    extras: list[dict[str, object] | None] = [None, {"k": [1, "\u00e9"]}, None, {"z": None}, {}]
    md5s = [f"{i:032x}" for i in range(5)]
    block = DigestBlock("md5", md5s, file_names=names, sizes=sizes, extras=extras)
    only_sizes = DigestBlock("md5", ["f" * 32] * 2, sizes=[3, None])
    with open_store(store_url) as store:
        info = store.hashsets.replace(HashSetInfo(name="m"), [block, only_sizes])
        back = list(store.hashsets.entries("m"))
        expected = [*block.entries(), *only_sizes.entries()]
        assert back == expected
        assert [e.metadata() for e in back][:3] == [
            {"media_size": 0, "file_names": ["a.jpg"]},
            {"media_size": 7, "extra": {"k": [1, "\u00e9"]}},
            {"file_names": [names[2]]},
        ]
        keys = [(int(info.id or 0), no) for no in range(7)]
        metas = store.hashsets.metadata(keys)
        assert metas == {
            k: e.metadata() for k, e in zip(keys, expected, strict=True) if e.metadata()
        }


@pytest.mark.parametrize("fmt", ["nsrl-rds2", "hashdeep"])
def test_blocks_with_metadata_reach_the_store(
    fmt: str, tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RDS 2.x products and special codes, hashdeep sizes and names: what the store holds
    after a block import is what the reader read, entry for entry (both backends)."""
    monkeypatch.setattr(hashdeep, "_BLOCK", 2000)
    entries = []
    for i in range(300):
        sha1, md5, sha256 = (RNG.randbytes(k).hex() for k in (20, 16, 32))
        if fmt == "nsrl-rds2":
            extra: dict[str, list[str]] = {}
            if i % 3:
                extra["nsrl_products"] = [f"Prod \u00e9 {i % 7}", 'Q"uoted, 2'][: 1 + i % 2]
            if i % 5 == 0:
                extra["nsrl_special"] = ["M"]
            entries.append(Entry(sha1=sha1, md5=md5, extra=extra))
        else:
            entries.append(
                Entry(
                    md5=md5,
                    sha256=sha256,
                    media_size=None if i % 4 == 0 else i * 1000,
                    file_names=() if i % 6 == 0 else (f"/d/\u00e9 {i},x.jpg",),
                )
            )
    if fmt == "nsrl-rds2":
        source = rewrite(fmt, entries, tmp_path / "rds.zip")
    else:  # as hashdeep writes it (Vigil's writer adds a SHA-1 column)
        source = tmp_path / "a.hashdeep"
        rows = [
            f"{'' if e.media_size is None else e.media_size},{e.md5},{e.sha256},"
            f"{e.file_names[0] if e.file_names else ''}"
            for e in entries
        ]
        head = ["%%%% HASHDEEP-1.0", "%%%% size,md5,sha256,filename", "## invoked", "##"]
        source.write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    read, rejected, _ = read_all(fmt, source)
    assert rejected == [] and read == entries
    assert any(isinstance(i, DigestBlock) for i in _read(fmt, source))
    with open_store(store_url) as store:
        report = import_file(store.hashsets, source, name="s", format_name=fmt)
        assert report.imported == len(entries)
        assert list(store.hashsets.entries("s")) == read


_FILE = st.tuples(
    st.integers(0, 5),  # which of a few files (the same one twice in a row is one file)
    st.lists(
        st.tuples(
            st.sampled_from(["99", "2", "0", "", " 7 ", "1"]),  # product code
            st.sampled_from([""] * 12 + ["M", " S "]),  # special code (rare)
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda row: row[0],
    ),  # its rows
    st.sampled_from(["plain"] * 30 + ["quoted", "odd-hex", "short", "blank", "nel"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FILE, max_size=40), st.sampled_from([300, 2000, 1 << 20]), st.booleans())
def test_rds2_fast_path_reads_what_the_csv_path_reads(
    groups: list[tuple[int, list[tuple[str, str]], str]], block: int, crlf: bool
) -> None:
    """The RDS 2.x block path (one regex per block, grouped in C passes) gives the same
    entries, blocks and rejections as ``csv.reader`` row by row, whatever the rows: files
    spanning blocks, products and special codes, quoted names, bad digests, blank lines."""
    files = [(RNG.randbytes(20).hex().upper(), RNG.randbytes(16).hex()) for _ in range(6)]
    lines = [nsrl_rds2.FILE_HEADER]
    for at, rows, shape in groups:
        sha1, md5 = files[at]
        name = {"quoted": '"f,""q"".dll"', "nel": '"f\x85\x0c.dll"'}.get(shape, '"f.dll"')
        if shape == "odd-hex":
            sha1 = "Z" + sha1[1:]
        if shape == "short":
            md5 = md5[:30]
        for code, special in rows:
            line = f'"{sha1}","{md5}","00000000",{name},12,{code},"358","{special}"'
            lines.append("" if shape == "blank" else line)
    _same_both_ways(lines, block, "\r\n" if crlf else "\n")


def test_rds2_fast_path_files_in_several_products_and_an_odd_row() -> None:
    """Many files of two products each (the fast path's middle files), an odd row (a
    quoted quote) after them: the same entries as row by row, in every block size."""
    files = [(RNG.randbytes(20).hex().upper(), RNG.randbytes(16).hex()) for _ in range(30)]
    lines = [nsrl_rds2.FILE_HEADER]
    for i, (sha1, md5) in enumerate(files):
        name = '"q""uote.dll"' if i == 25 else '"f.dll"'
        special = "M" if i == 20 else ""
        for code in ("7", "3") if i % 4 else ("3", "0", "7", "3"):
            lines.append(f'"{sha1}","{md5}","0",{name},1,{code},"","{special}"')
    for block in (300, 2000, 1 << 20):
        entries = _same_both_ways(lines, block, "\r\n")
        assert [e.extra for e in entries[:2]] == [
            {"nsrl_products": ["product 3", "product 7"]},
            {"nsrl_products": ["product 7", "product 3"]},
        ]
        assert entries[20].extra == {
            "nsrl_products": ["product 3", "product 7"],
            "nsrl_special": ["M"],
        }
        assert len(entries) == 30


def _same_both_ways(lines: list[str], block: int, end: str) -> list[Entry]:
    """Reading ``lines`` as NSRLFile.txt gives the same with and without the fast path."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "NSRLFile.txt"
        path.write_text(end.join(lines) + end, encoding="latin-1")
        original = nsrl_rds2._BLOCK
        nsrl_rds2._BLOCK = block
        try:
            fast = _read("nsrl-rds2", path)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(nsrl_rds2, "_is_standard_header", lambda line: False)
                slow = _read("nsrl-rds2", path)
        finally:
            nsrl_rds2._BLOCK = original
    assert list(expand(fast)) == list(expand(slow))
    assert [str(r) for r in fast if isinstance(r, Rejected)] == [
        str(r) for r in slow if isinstance(r, Rejected)
    ]
    return [e for e in expand(fast) if isinstance(e, Entry)]


def _vics_records() -> list[dict[str, object]]:
    """Media records of every shape a VICS block meets: all three digests, no PDQ, a
    vPDQ or PhotoDNA alone (Entries of their own), flags as text, tags, a null MediaID,
    a bad digest."""
    records: list[dict[str, object]] = []
    for i in range(120):
        record: dict[str, object] = {
            "MediaID": i if i % 17 else None,
            "Category": i % 4,
            "MD5": RNG.randbytes(16).hex().upper(),
            "SHA1": RNG.randbytes(20).hex(),
            "VictimIdentified": "true" if i % 3 else False,
            "MediaFiles": [{"FileName": f"\u00e9 {i}.jpg", "FilePath": "/c/"}],
        }
        if i % 10 != 4:
            record["AlternativeHashes"] = [
                {"HashName": "PDQ", "HashValue": RNG.randbytes(32).hex()},
                {"HashName": "Other", "HashValue": "x"},
            ]
        if i == 50:
            record["AlternativeHashes"] = [
                {"HashName": "vPDQ", "HashValue": "0,100," + "ab" * 32 + ",0.000"}
            ]
        if i % 7 == 0:
            record["Tags"] = "a|b"
            record["MediaSize"] = i * 10
        if i == 77:
            record["MD5"] = "not hex"
        if i == 0:  # PhotoDNA alone, first (no digest types: an Entry of its own)
            del record["MD5"], record["SHA1"], record["AlternativeHashes"]
            record["AlternativeHashes"] = [{"HashName": "PhotoDNA", "HashValue": "0000"}]
        records.append(record)
    return records


def test_vics_blocks_read_what_records_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    """VICS records go to the store as blocks (issue 16): the same entries and rejections
    as one Entry per record, and the store gives them back (both backends)."""
    from vigil.hashsets.formats import vics

    path = tmp_path / "v.json"
    context = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
    path.write_text(json.dumps({"@odata.context": context, "value": _vics_records()}), "utf-8")
    monkeypatch.setattr(vics, "_BATCH", 16)
    items = _read("vics", path)
    assert sum(isinstance(i, DigestBlock) for i in items) > 3
    assert any(type(i) is Entry for i in items)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vics, "_BLOCK_TYPES", frozenset())
        one_by_one = _read("vics", path)
    assert not any(isinstance(i, DigestBlock) for i in one_by_one)
    assert list(expand(items)) == list(expand(one_by_one))
    entries = [e for e in expand(items) if isinstance(e, Entry)]
    assert len(entries) == 119 and entries[0].category is not None
    with open_store(store_url) as store:
        report = import_file(store.hashsets, path, name="v", format_name="vics", skip_invalid=True)
        assert report.imported == 119
        assert list(store.hashsets.entries("v")) == entries
        flags = store.hashsets.flag_counts("v")
        assert flags["victim_identified"] == {"yes": 79, "no": 40}
