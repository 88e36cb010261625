"""The examiners' tool formats: ICSE, NSRL RDS 2.x, EnCase, HashKeeper, .kdb, TSK .idx.

Each format is read from a small file written the way the tool writes it, written back
by Vigil and re-read (the round trip an examiner relies on when a lab moves its lists),
detected from its content alone (the files here have names that say nothing), and
refused with the file and line (or offset) named when a record is bad.
``test_hfind.py`` checks the same files against The Sleuth Kit's ``hfind``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets.helpers import read_all, rewrite
from vigil.errors import HashSetError
from vigil.hashsets.formats import detect_format
from vigil.hashsets.model import Entry, HashSetKind

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEX = "0123456789abcdef"


def md5(i: int) -> str:
    return hashlib.md5(f"file {i}".encode()).hexdigest()


def sha1(i: int) -> str:
    return hashlib.sha1(f"file {i}".encode()).hexdigest()


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=n, max_size=n)


names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'),
    min_size=1,
    max_size=16,
).filter(lambda s: s.strip() == s)


# -- ICSE ----------------------------------------------------------------------------------

ICSE_HEADER = (
    "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
    "Series name;Number of submissions;File Available;Media Type;Baseline"
)


def icse_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "export-0001"
    path.write_bytes(("\ufeff" + "\r\n".join((ICSE_HEADER, *rows)) + "\r\n").encode("utf-8"))
    return path


def test_icse_reads_flags_series_and_photodna(tmp_path: Path) -> None:
    photodna = "A" * 190 + "=="
    path = icse_file(
        tmp_path,
        f"{md5(1).upper()};{sha1(1).upper()};{photodna};IMG-77;Yes;No;y;Garden series;3;True;"
        "Image;false",
        f"{md5(2)};;;IMG-78;;;;;;;Video;",
    )
    assert detect_format(path) == "icse"
    entries, rejected, _ = read_all("icse", path)
    assert rejected == []
    first, second = entries
    assert (first.md5, first.sha1, first.photodna) == (md5(1), sha1(1), photodna)
    assert first.is_distributed is True
    assert first.victim_identified is False
    assert first.series == "Garden series"
    assert first.category is None
    assert first.extra == {
        "ImageID": "IMG-77",
        "OffenderIdentified": True,
        "NumSubmissions": 3,
        "FileAvailable": True,
        "MediaType": "Image",
        "Baseline": False,
    }
    assert (second.md5, second.sha1, second.is_distributed) == (md5(2), None, None)
    assert second.extra == {"ImageID": "IMG-78", "MediaType": "Video"}


def test_icse_round_trip_keeps_photodna_and_flags(tmp_path: Path) -> None:
    photodna = "QUJD" * 48
    path = icse_file(
        tmp_path,
        f"{md5(1)};{sha1(1)};{photodna};IMG-1;true;true;false;S;12;no;Image;yes",
        f"{md5(2)};{sha1(2)};;;;;;;;;;",
    )
    entries, _, _ = read_all("icse", path)
    again, rejected, _ = read_all("icse", rewrite("icse", entries, tmp_path / "again"))
    assert rejected == []
    assert again == entries
    assert again[0].photodna == photodna


@st.composite
def icse_entries(draw: st.DrawFn) -> Entry:
    entry = Entry(md5=draw(st.none() | hexes(32)), sha1=draw(st.none() | hexes(40)))
    if entry.md5 is None and entry.sha1 is None:
        entry.md5 = draw(hexes(32))
    entry.photodna = draw(st.none() | st.text("ABCDEFabcdef0123456789+/=", min_size=4, max_size=30))
    entry.series = draw(st.none() | names)
    entry.is_distributed = draw(st.none() | st.booleans())
    entry.victim_identified = draw(st.none() | st.booleans())
    extra = {}
    for key in ("OffenderIdentified", "FileAvailable", "Baseline"):
        if (flag := draw(st.none() | st.booleans())) is not None:
            extra[key] = flag
    if (n := draw(st.none() | st.integers(0, 10**6))) is not None:
        extra["NumSubmissions"] = n
    for key in ("ImageID", "MediaType"):
        if (text := draw(st.none() | names)) is not None:
            extra[key] = text
    entry.extra = extra
    return entry


@SETTINGS
@given(st.lists(icse_entries(), min_size=1, max_size=8))
def test_icse_round_trip_property(entries: list[Entry]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = rewrite("icse", entries, Path(tmp) / "x")
        got, rejected, _ = read_all("icse", path)
    assert rejected == []
    assert got == entries


def test_icse_bad_records_name_the_line(tmp_path: Path) -> None:
    path = icse_file(
        tmp_path,
        f"{md5(1)};{sha1(1)};;;yes;;;;;;;",
        f"{md5(2)[:-1]};;;;;;;;;;;",
        f"{md5(3)};;;;maybe;;;;;;;",
        f"{md5(4)};;;;;;;;many;;;",
        ";;;;yes;;;;;;;",
        ";;;;;;;;;;;",  # an empty row is a blank line, not a record
    )
    entries, rejected, _ = read_all("icse", path)
    assert [e.md5 for e in entries] == [md5(1)]
    where = [r.location for r in rejected]
    assert where == [f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:6"]
    assert "MD5" in rejected[0].reason
    assert "is distributed" in rejected[1].reason and "maybe" in rejected[1].reason
    assert "number of submissions" in rejected[2].reason
    assert "neither an MD5 nor a SHA1" in rejected[3].reason


def test_icse_quoted_field_spanning_lines_counts_lines(tmp_path: Path) -> None:
    path = icse_file(tmp_path, f'{md5(1)};;;;;;;"two\nlines";;;;', f"{md5(2)[:5]};;;;;;;;;;;")
    entries, rejected, _ = read_all("icse", path)
    assert entries[0].series == "two\nlines"
    assert [r.location for r in rejected] == [f"{path}:4"]


# -- HashKeeper ----------------------------------------------------------------------------

HK_HEADER = (
    '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",'
    '"time_modified","time_zone","comments","date_accessed","time_accessed"'
)


def hk_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "known-0001"
    path.write_bytes(("\r\n".join((HK_HEADER, *rows)) + "\r\n").encode("utf-8"))
    return path


def test_hashkeeper_reads_rows(tmp_path: Path) -> None:
    path = hk_file(
        tmp_path,
        f'1,7,"setup.exe","C:\\Program Files\\App","{md5(1).upper()}",40960,1/2/2003,'
        '10:11:12,"EST","installer",,',
        f'2,7,"readme.txt",,"{md5(2).upper()}",12,,,,,,',
    )
    assert detect_format(path) == "hashkeeper"
    entries, rejected, _ = read_all("hashkeeper", path)
    assert rejected == []
    first, second = entries
    assert first.md5 == md5(1)
    assert first.file_names == ("C:\\Program Files\\App\\setup.exe",)
    assert (first.media_size, first.comments) == (40960, "installer")
    assert first.extra == {
        "HashKeeper": {
            "file_id": "1",
            "hashset_id": "7",
            "date_modified": "1/2/2003",
            "time_modified": "10:11:12",
            "time_zone": "EST",
        }
    }
    assert (second.md5, second.file_names, second.media_size) == (md5(2), ("readme.txt",), 12)


def test_hashkeeper_round_trip(tmp_path: Path) -> None:
    path = hk_file(
        tmp_path,
        f'1,7,"a, b.exe","C:\\dir","{md5(1)}",5,1/2/2003,10:11:12,"EST","c",,',
        f'2,7,"x",,"{md5(2)}",,,,,,,',
    )
    entries, _, _ = read_all("hashkeeper", path)
    again, rejected, _ = read_all("hashkeeper", rewrite("hashkeeper", entries, tmp_path / "o"))
    assert rejected == []
    assert again == entries


@SETTINGS
@given(
    st.lists(
        st.builds(
            Entry,
            md5=hexes(32),
            file_names=st.lists(names, max_size=2).map(tuple),
            media_size=st.none() | st.integers(0, 2**40),
            comments=st.none() | names,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_hashkeeper_round_trip_property(entries: list[Entry]) -> None:
    """Vigil's entries survive, one row per file name; a second trip is a fixed point."""
    with tempfile.TemporaryDirectory() as tmp:
        first, rejected, _ = read_all("hashkeeper", rewrite("hashkeeper", entries, Path(tmp) / "a"))
        second, _, _ = read_all("hashkeeper", rewrite("hashkeeper", first, Path(tmp) / "b"))
    assert rejected == []
    expected = [
        (e.md5, (name,) if name else (), e.media_size, e.comments)
        for e in entries
        for name in (e.file_names or ("",))
    ]
    assert [(e.md5, e.file_names, e.media_size, e.comments) for e in first] == expected
    assert second == first


def test_hashkeeper_bad_rows_name_the_line(tmp_path: Path) -> None:
    path = hk_file(
        tmp_path,
        f'1,1,"a",,"{md5(1)}",1,,,,,,',
        '2,1,"b",,"not-a-hash",1,,,,,,',
        f'3,1,"c",,"{md5(3)}",big,,,,,,',
        '4,1,"d",,"",1,,,,,,',
    )
    entries, rejected, _ = read_all("hashkeeper", path)
    assert [e.md5 for e in entries] == [md5(1)]
    assert [r.location for r in rejected] == [f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "file_size" in rejected[1].reason


def test_hashkeeper_without_hash_column_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_text('"file_id","name"\n1,"a"\n')
    _, rejected, _ = read_all("hashkeeper", path)
    assert rejected[0].fatal and rejected[0].location == f"{path}:1"


# -- EnCase --------------------------------------------------------------------------------


def encase_bytes(digests: list[str], name: str = "Known set", category: str = "Known") -> bytes:
    """An EnCase hash set laid out by hand, as the Forensics Wiki and Autopsy describe it."""
    header = bytearray(1152)
    header[0:16] = b"HASH\r\n\xff\x00\x02\x00\x00\x00\x01\x00\x00\x00"
    struct.pack_into("<I", header, 16, len(digests))
    header[1032 : 1032 + 80] = name.encode("utf-16-le").ljust(80, b"\x00")
    header[1112 : 1112 + 40] = category.encode("utf-16-le").ljust(40, b"\x00")
    return bytes(header) + b"".join(bytes.fromhex(d) + b"\x00\x00" for d in digests)


def test_encase_reads_md5s_and_set_name(tmp_path: Path) -> None:
    path = tmp_path / "lib"
    path.write_bytes(encase_bytes([md5(i) for i in range(5)]))
    assert detect_format(path) == "encase"
    entries, rejected, ctx = read_all("encase", path)
    assert rejected == []
    assert [e.md5 for e in entries] == [md5(i) for i in range(5)]
    assert ctx.attributes == {"encase_name": "Known set", "encase_category": "Known"}


def test_encase_writes_the_documented_layout(tmp_path: Path) -> None:
    entries = [Entry(md5=md5(i)) for i in range(3)] + [Entry(sha1=sha1(9))]
    path = rewrite(
        "encase",
        entries,
        tmp_path / "out",
        attributes={"encase_name": "Known set", "encase_category": "Known"},
    )
    assert path.read_bytes() == encase_bytes([md5(i) for i in range(3)])


def test_encase_round_trip_streams_large_sets(tmp_path: Path) -> None:
    digests = [md5(i) for i in range(70_000)]  # more than one read block
    path = rewrite("encase", [Entry(md5=d) for d in digests], tmp_path / "big")
    entries, rejected, ctx = read_all("encase", path)
    assert rejected == []
    assert [e.md5 for e in entries] == digests
    assert ctx.attributes["encase_name"] == "t"  # rewrite() names the set "t"
    assert struct.unpack_from("<I", path.read_bytes(), 16) == (70_000,)


def test_encase_to_a_pipe_buffers_and_counts(tmp_path: Path) -> None:
    """A stream that cannot seek still gets the right count in the header."""
    import io

    from vigil.hashsets.formats import get_format
    from vigil.hashsets.model import HashSetInfo

    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    out = Pipe()
    count = get_format("encase").write(
        [Entry(md5=md5(1)), Entry(md5=md5(2))], out, HashSetInfo("p")
    )
    assert count == 2
    assert out.getvalue() == encase_bytes([md5(1), md5(2)], name="p", category="")


def test_encase_long_names_are_cut_to_fit(tmp_path: Path) -> None:
    path = rewrite(
        "encase",
        [Entry(md5=md5(1))],
        tmp_path / "o",
        attributes={"encase_name": "N" * 100, "encase_category": "\U0001f600" * 30},
    )
    _, _, ctx = read_all("encase", path)
    assert ctx.attributes["encase_name"] == "N" * 39
    assert len(path.read_bytes()) == 1152 + 18


def test_encase_cut_record_names_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "cut"
    path.write_bytes(encase_bytes([md5(1), md5(2)])[:-5])
    entries, rejected, _ = read_all("encase", path)
    assert [e.md5 for e in entries] == [md5(1)]
    assert rejected[0].fatal
    assert rejected[0].location == f"{path}:offset {1152 + 18}"


def test_encase_short_header_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(encase_bytes([])[:600])
    assert detect_format(path) == "encase"
    _, rejected, _ = read_all("encase", path)
    assert rejected[0].fatal and "600 bytes" in rejected[0].reason


# -- Autopsy / TSK .kdb --------------------------------------------------------------------


def test_kdb_round_trip_with_names_and_comments(tmp_path: Path) -> None:
    entries = [
        Entry(md5=md5(1), file_names=("a.exe", "b.exe"), comments="first\nsecond"),
        Entry(md5=md5(2), sha1=sha1(2), sha256=hashlib.sha256(b"2").hexdigest()),
        Entry(sha1=sha1(3)),  # no MD5: TSK could never look it up, so not written
    ]
    path = rewrite("autopsy-kdb", entries, tmp_path / "hashes")
    assert detect_format(path) == "autopsy-kdb"
    got, rejected, ctx = read_all("autopsy-kdb", path)
    assert rejected == []
    assert got == entries[:2]
    assert ctx.version == "TSK hash database schema 1"


def test_kdb_merges_entries_with_the_same_md5(tmp_path: Path) -> None:
    entries = [Entry(md5=md5(1), file_names=("a",)), Entry(md5=md5(1), file_names=("b",))]
    got, _, _ = read_all("autopsy-kdb", rewrite("autopsy-kdb", entries, tmp_path / "k"))
    assert got == [Entry(md5=md5(1), file_names=("a", "b"))]


def test_kdb_export_refuses_an_existing_file(tmp_path: Path) -> None:
    from vigil.errors import UsageError

    path = tmp_path / "exists.kdb"
    path.write_bytes(b"x")
    with pytest.raises(UsageError, match="exists"):
        rewrite("autopsy-kdb", [Entry(md5=md5(1))], path)
    assert path.read_bytes() == b"x"


def test_kdb_bad_blob_names_the_row(tmp_path: Path) -> None:
    path = rewrite("autopsy-kdb", [Entry(md5=md5(1)), Entry(md5=md5(2))], tmp_path / "k")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE hashes SET md5 = ? WHERE id = 2", (b"\x01\x02",))
    entries, rejected, _ = read_all("autopsy-kdb", path)
    assert [e.md5 for e in entries] == [md5(1)]
    assert rejected[0].location == f"{path}:hashes id 2"
    assert "2 bytes, expected 16" in rejected[0].reason


def test_kdb_and_rds_v3_are_told_apart(tmp_path: Path) -> None:
    kdb = rewrite("autopsy-kdb", [Entry(md5=md5(1))], tmp_path / "a")
    rds = rewrite("nsrl", [Entry(md5=md5(1), sha1=sha1(1))], tmp_path / "b")
    other = tmp_path / "c"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    assert detect_format(kdb) == "autopsy-kdb"
    assert detect_format(rds) == "nsrl"
    with pytest.raises(HashSetError, match="cannot tell the format"):
        detect_format(other)


# -- NSRL RDS 2.x --------------------------------------------------------------------------

RDS_HEADER = (
    '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
)
PROD_HEADER = (
    '"ProductCode","ProductName","ProductVersion","OpSystemCode","MfgCode","Language",'
    '"ApplicationType"'
)


def rds_row(i: int, product: int, name: str = "a.dll", special: str = "") -> str:
    return (
        f'"{sha1(i).upper()}","{md5(i).upper()}","0A1B2C3D","{name}",{100 + i},{product},'
        f'"WIN","{special}"'
    )


def rds_text(*rows: str) -> str:
    return "\r\n".join((RDS_HEADER, *rows)) + "\r\n"


PRODUCTS = (
    "\r\n".join(
        (
            PROD_HEADER,
            '11,"Office","2010","WIN","MSFT","English","Office"',
            '11,"Office","2010","WIN64","MSFT","English","Office"',
            '12,"Paint, Pro","9","WIN","JASC","English","Graphics"',
        )
    )
    + "\r\n"
)


def test_rds2_text_with_products_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "NSRLFile.txt"
    path.write_text(
        rds_text(
            rds_row(1, 11), rds_row(1, 12, "b.dll"), rds_row(1, 11), rds_row(2, 99, special="S")
        )
    )
    (tmp_path / "nsrlprod.TXT").write_text(PRODUCTS)
    assert detect_format(path) == "nsrl-rds2"
    entries, rejected, ctx = read_all("nsrl-rds2", path)
    assert rejected == []
    assert entries == [
        Entry(md5=md5(1), sha1=sha1(1), extra={"nsrl_products": ["Office 2010", "Paint, Pro 9"]}),
        Entry(
            md5=md5(2), sha1=sha1(2), extra={"nsrl_products": ["product 99"], "nsrl_special": ["S"]}
        ),
    ]
    assert ctx.attributes["nsrl_products_file"] == "nsrlprod.TXT"


def test_rds2_zip_and_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "rds_2.75.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "RDS_275/NSRLFile.txt", rds_text(*(rds_row(i, 11 + i % 2) for i in range(50)))
        )
        archive.writestr("RDS_275/NSRLProd.txt", PRODUCTS)
    renamed = tmp_path / "download"
    source.rename(renamed)
    assert detect_format(renamed) == "nsrl-rds2"
    entries, rejected, _ = read_all("nsrl-rds2", renamed)
    assert rejected == [] and len(entries) == 50
    assert entries[1].extra == {"nsrl_products": ["Paint, Pro 9"]}
    out = rewrite("nsrl-rds2", entries, tmp_path / "export.zip")
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["NSRLFile.txt", "NSRLProd.txt"]
        assert archive.read("NSRLFile.txt").startswith(RDS_HEADER.encode())
    again, rejected, _ = read_all("nsrl-rds2", out)
    assert rejected == []
    assert again == entries


@SETTINGS
@given(
    st.lists(
        st.builds(
            Entry,
            md5=st.none() | hexes(32),
            sha1=hexes(40),
            extra=st.fixed_dictionaries(
                {},
                optional={
                    "nsrl_products": st.lists(names, min_size=1, max_size=3, unique=True),
                    "nsrl_special": st.lists(
                        st.sampled_from(["M", "S", "N"]), min_size=1, max_size=2, unique=True
                    ),
                },
            ),
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda e: e.sha1,
    )
)
def test_rds2_round_trip_property(entries: list[Entry]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        got, rejected, _ = read_all("nsrl-rds2", rewrite("nsrl-rds2", entries, Path(tmp) / "o.zip"))
    assert rejected == []
    assert got == entries


def test_rds2_bad_rows_name_the_line_and_member(tmp_path: Path) -> None:
    path = tmp_path / "rds.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "NSRLFile.txt",
            rds_text(
                rds_row(1, 0),
                f'"{sha1(2)[:-2]}","{md5(2)}","",a,1,0,"",""',
                '"x","y"',
                rds_row(3, 0),
            ),
        )
    entries, rejected, _ = read_all("nsrl-rds2", path)
    assert [e.md5 for e in entries] == [md5(1), md5(3)]
    assert [r.location for r in rejected] == [f"{path}:NSRLFile.txt:3", f"{path}:NSRLFile.txt:4"]
    assert "SHA1 hash: 38 characters" in rejected[0].reason
    assert "2 fields" in rejected[1].reason


def test_rds2_zip_without_nsrlfile_is_not_rds(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(HashSetError):
        detect_format(path)
    _, rejected, _ = read_all("nsrl-rds2", path)
    assert rejected[0].fatal and "NSRLFile.txt" in rejected[0].reason


def test_rds2_is_an_ignore_set_by_default() -> None:
    from vigil.hashsets.formats import format_class

    assert format_class("nsrl-rds2").default_kind is HashSetKind.ignore


# -- detection across all of them ----------------------------------------------------------


def test_no_tool_format_claims_another_ones_file(tmp_path: Path) -> None:
    """Each sample is detected as its own format, whatever its name."""
    samples = {
        "icse": icse_file(tmp_path, f"{md5(1)};;;;;;;;;;;"),
        "encase": tmp_path / "e",
        "nsrl-rds2": tmp_path / "n",
    }
    samples["encase"].write_bytes(encase_bytes([md5(1)]))
    samples["nsrl-rds2"].write_text(rds_text(rds_row(1, 0)))
    (tmp_path / "h").mkdir()
    samples["hashkeeper"] = hk_file(tmp_path / "h", f'1,1,"a",,"{md5(1)}",1,,,,,,')
    samples["autopsy-kdb"] = rewrite("autopsy-kdb", [Entry(md5=md5(1))], tmp_path / "k")
    samples["tsk-idx"] = rewrite("tsk-idx", [Entry(md5=md5(1))], tmp_path / "i")
    for name, path in samples.items():
        assert detect_format(path) == name, path


# -- The Sleuth Kit .idx -------------------------------------------------------------------


def test_tsk_idx_round_trip_sorted_and_distinct(tmp_path: Path) -> None:
    digests = [md5(i) for i in range(300)] + ["00" * 16, "ab" * 15 + "00"]
    entries = [Entry(md5=d) for d in digests] + [Entry(md5=md5(7)), Entry(sha1=sha1(1))]
    path = rewrite("tsk-idx", entries, tmp_path / "x")
    lines = path.read_text().splitlines()
    assert lines[:2] == ["0" * 41 + "|md5sum", "0" * 40 + "1|t"]
    assert lines[2] == "0" * 32 + "|" + "0" * 16
    assert detect_format(path) == "tsk-idx"
    got, rejected, ctx = read_all("tsk-idx", path)
    assert rejected == []
    assert [e.md5 for e in got] == sorted(set(digests))
    assert ctx.attributes == {"tsk_idx_type": "md5sum", "tsk_idx_name": "t"}
    assert ctx.version == "TSK MD5 index"


def test_tsk_idx_reads_sha1_indexes_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_text(
        "0" * 41 + "|nsrl\n" + "0" * 40 + "1|NSRLFile.txt\n"
        f"{sha1(1).upper()}|0000000000000093\n"
        f"{md5(2).upper()}|0000000000000193\n"
        f"{sha1(3)[:-1]}Z|0000000000000293\n"
        "garbage\n"
        f"{sha1(4).upper()}|0000000000000393\n"
    )
    got, rejected, ctx = read_all("tsk-idx", path)
    assert [e.sha1 for e in got] == [sha1(1), sha1(4)]
    assert [r.location for r in rejected] == [f"{path}:4", f"{path}:5", f"{path}:6"]
    assert "MD5 line in an index of SHA1" in rejected[0].reason
    assert ctx.attributes["tsk_idx_type"] == "nsrl"


# -- through the store, on both backends ---------------------------------------------------


def _samples(d: Path) -> dict[str, Path]:
    rds = d / "rds"
    rds.mkdir()
    (rds / "NSRLFile.txt").write_text(rds_text(rds_row(1, 11), rds_row(1, 12), rds_row(2, 0)))
    (rds / "NSRLProd.txt").write_text(PRODUCTS)
    photodna = "QUJD" * 48
    encase = d / "e.hash"
    encase.write_bytes(encase_bytes([md5(1), md5(2)]))
    return {
        "icse": icse_file(d, f"{md5(1)};{sha1(1)};{photodna};I-1;yes;no;no;S;2;yes;Image;no"),
        "hashkeeper": hk_file(d, f'1,2,"a.exe","C:\\d","{md5(1)}",7,1/2/2003,,,"c",,'),
        "encase": encase,
        "autopsy-kdb": rewrite(
            "autopsy-kdb", [Entry(md5=md5(1), file_names=("a",), comments="c")], d / "k.kdb"
        ),
        "nsrl-rds2": rds / "NSRLFile.txt",
        "tsk-idx": rewrite("tsk-idx", [Entry(md5=md5(1)), Entry(md5=md5(2))], d / "t-md5.idx"),
    }


@pytest.mark.parametrize(
    "fmt", ["icse", "hashkeeper", "encase", "autopsy-kdb", "nsrl-rds2", "tsk-idx"]
)
def test_store_round_trip(fmt: str, tmp_path: Path, store_url: str) -> None:
    """Import, export, import again: the store gives back the same entries and kind."""
    from vigil.services.hashsets import export_set, import_file
    from vigil.store import open_store

    source = _samples(tmp_path)[fmt]
    with open_store(store_url) as store:
        first = import_file(store.hashsets, source, name="first")
        assert first.info.source_format == fmt  # detected from the content
        assert first.imported > 0
        out = tmp_path / ("export.zip" if fmt == "nsrl-rds2" else f"export.{fmt}")
        export_set(store.hashsets, "first", fmt, out)
        second = import_file(store.hashsets, out, name="second", format_name=fmt)
        assert second.info.kind == first.info.kind
        a = list(store.hashsets.entries("first"))
        b = list(store.hashsets.entries("second"))
        assert a == b
        if fmt == "nsrl-rds2":
            assert first.info.kind is HashSetKind.ignore
            assert a[0].extra == {"nsrl_products": ["Office 2010", "Paint, Pro 9"]}
        if fmt == "icse":
            assert a[0].photodna == "QUJD" * 48 and a[0].is_distributed is True
