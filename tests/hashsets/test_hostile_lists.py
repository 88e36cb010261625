"""Hostile and careless hash lists (issue 19, item 5): every finding as a regression test.

Each test builds the file the fuzzing run or the hand-made attack used (benign
digests, generated here) and checks that Vigil ends with its own error, or reads the
file right, and that a failed import leaves an existing set as it was.
"""

# ruff: noqa: UP031 - JSON templates read better with %s than with doubled braces

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hashsets import samples
from tests.hashsets.helpers import read_all, rewrite
from vigil.errors import HashSetError, InvalidRecordError, VigilError
from vigil.hashsets.formats import FORMATS, detect_format, get_format
from vigil.hashsets.formats.base import Limits, ReadContext
from vigil.hashsets.model import Entry, Rejected, expand
from vigil.services.hashsets import import_file, path_problem
from vigil.store import open_store

MD5 = samples.MD5
VICS_HEAD = (
    '{"@odata.context": '
    '"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media", '
)


def _vics(path: Path, body: str) -> Path:
    path.write_text(VICS_HEAD + body + "}")
    return path


def _read(name: str, path: Path, limits: Limits | None = None) -> list[Entry | Rejected]:
    """Every item a reader gives, spelled out; Vigil's own errors propagate."""
    ctx = ReadContext(path, limits=limits or Limits())
    return list(expand(get_format(name).read(ctx)))


def _fails_cleanly(name: str, path: Path) -> str:
    """The reader ends with a fatal Rejected or a VigilError; its message."""
    try:
        items = _read(name, path)
    except VigilError as exc:
        return str(exc)
    fatal = [i for i in items if isinstance(i, Rejected) and i.fatal]
    assert fatal, items[:3]
    return fatal[0].reason


def _run_limited(
    code: str, tmp_path: Path, address_space: int = 3 << 30
) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child whose address space is capped (a crash stays there)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    env = {**os.environ, "VIGIL_HOME": str(tmp_path / "home"), "PYTHONPATH": os.getcwd()}
    env.pop("VIGIL_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=limit,
        timeout=300,
        check=False,
    )


# -- JSON nesting and numbers ------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", '{"value": ', '{"value": [{"MD5": "x", "Extra": '])
def test_deep_json_nesting_is_a_clear_error_in_bounded_memory(tmp_path: Path, prefix: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(prefix + "[" * 100_000)
    code = (
        "from pathlib import Path\n"
        "from vigil.errors import VigilError\n"
        "from tests.hashsets.helpers import read_all\n"
        "try:\n"
        f"    read_all('vics', Path({str(path)!r}))\n"
        "except VigilError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    done = _run_limited(code, tmp_path, address_space=2 << 30)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "JSON nested 65 levels deep or more" in done.stdout


def test_nesting_limit_is_a_setting(tmp_path: Path) -> None:
    path = _vics(tmp_path / "n.json", '"value": [{"MD5": "%s", "X": [[[[1]]]]}]' % MD5[0])
    assert [e.md5 for e in _read("vics", path) if isinstance(e, Entry)] == [MD5[0]]
    with pytest.raises(HashSetError, match="nested 5 levels deep"):
        _read("vics", path, Limits(max_json_depth=4))


def test_a_4300_digit_integer_never_crashes_the_process(tmp_path: Path) -> None:
    path = _vics(
        tmp_path / "num.json", '"value": [{"MD5": "%s", "MediaID": %s}]' % (MD5[0], "7" * 4400)
    )
    code = (
        "from pathlib import Path\n"
        "from tests.hashsets.helpers import read_all\n"
        f"entries, rejected, _ = read_all('vics', Path({str(path)!r}))\n"
        "print('READ', len(entries), [r.fatal for r in rejected])\n"
    )
    done = _run_limited(code, tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "READ 0 [True]" in done.stdout


def test_integers_above_2_to_the_63_are_read(tmp_path: Path, store_url: str) -> None:
    big = 18446744073709551616  # 2^64
    path = _vics(
        tmp_path / "big.json",
        '"value": [{"MD5": "%s", "MediaID": 1}, {"MD5": "%s", "MediaID": %d, "MediaSize": %d}]'
        % (MD5[0], MD5[1], big, big),
    )
    with open_store(store_url) as store:
        report = import_file(store.hashsets, path, name="big")
        entries = list(store.hashsets.entries("big"))
    assert report.imported == 2
    assert [e.md5 for e in entries] == MD5
    assert entries[1].extra["MediaID"] == big and entries[1].media_size == big


def test_multi_line_json_errors_are_one_line_of_text(tmp_path: Path) -> None:
    path = _vics(tmp_path / "bad.json", '"value": [\n{"MD5": "%s",\n "X": tru}]' % MD5[0])
    reason = _fails_cleanly("vics", path)
    assert reason.startswith("not valid JSON: ") and "\n" not in reason and "b'" not in reason


def test_overlong_utf8_in_vics_is_a_vigil_error(tmp_path: Path) -> None:
    path = tmp_path / "utf8.json"
    path.write_bytes(
        (VICS_HEAD + '"value": [{"MD5": "%s", "Comments": "' % MD5[0]).encode()
        + b"\xc0\xaf"
        + b'"}]}'
    )
    assert "UTF-8" in _fails_cleanly("vics", path)


def test_a_lone_surrogate_is_refused_not_stored_as_a_question_mark(tmp_path: Path) -> None:
    path = _vics(
        tmp_path / "s.json",
        '"value": [{"MD5": "%s", "Comments": "a\\ud800b"}, '
        '{"MD5": "%s", "Comments": "\\ud83d\\ude00"}]' % tuple(MD5),
    )
    entries, rejected, _ = read_all("vics", path)
    assert "surrogate" in rejected[0].reason and rejected[0].location.endswith("$.value[0]")
    assert [e.comments for e in entries] == ["\N{GRINNING FACE}"]


# -- VICS structure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('"value": {"MD5": "%s"}' % MD5[0], "'value' must be an array"),
        ('"Value": [{"MD5": "%s"}]' % MD5[0], "no 'value' array"),
        ('"value": [{"CaseID": 1, "Media": {"MD5": "%s"}}]' % MD5[0], "Media must be an array"),
        ('"value": [{"CaseID": 1, "Media": ["%s"]}]' % MD5[0], "must be an object"),
        ('"value": []', "no entries"),
    ],
)
def test_structurally_wrong_vics_never_replaces_a_good_set(
    tmp_path: Path, store_url: str, body: str, message: str
) -> None:
    good = samples.write_json(tmp_path / "good.json", samples.VICS_2_MEDIA)
    bad = _vics(tmp_path / "bad.json", body)
    with open_store(store_url) as store:
        before = import_file(store.hashsets, good, name="pv").imported
        for skip in (False, True):
            with pytest.raises(
                HashSetError, match=message if not skip else f"{message}|no entries"
            ):
                import_file(store.hashsets, bad, name="pv", format_name="vics", skip_invalid=skip)
        assert store.hashsets.require("pv").entry_count == before > 0


def test_a_top_level_array_is_not_vics(tmp_path: Path) -> None:
    path = samples.write_text(tmp_path / "a.json", json.dumps([{"MD5": MD5[0]}]))
    assert "not an array" in _fails_cleanly("vics", path)


def test_a_file_of_nothing_but_comments_is_an_error_and_keeps_the_set(
    tmp_path: Path, store_url: str
) -> None:
    empty = samples.write_text(tmp_path / "e.txt", "# no digests here\n\n")
    with open_store(store_url) as store:
        import_file(store.hashsets, samples.hex_list(tmp_path / "g.txt", MD5), name="s")
        with pytest.raises(HashSetError, match=r"no entries read as md5-list.*is kept"):
            import_file(store.hashsets, empty, name="s", format_name="md5-list")
        assert [e.md5 for e in store.hashsets.entries("s")] == MD5


def test_every_record_skipped_is_an_error_too(tmp_path: Path, store_url: str) -> None:
    bad = samples.write_text(tmp_path / "b.txt", "zz\nyy\n")
    with open_store(store_url) as store:
        with pytest.raises(HashSetError, match=r"no entries .*\(2 invalid records skipped\)"):
            import_file(store.hashsets, bad, format_name="md5-list", skip_invalid=True)
        assert store.hashsets.list() == []


# -- line endings and line lengths -------------------------------------------------------


def test_cr_only_line_endings_read_every_line(tmp_path: Path) -> None:
    md5sum = tmp_path / "MD5SUMS"
    md5sum.write_bytes(f"{MD5[0]}  a.jpg\r{MD5[1]}  b.jpg\r{MD5[0]}  c.jpg\r".encode())
    entries, rejected, _ = read_all("md5sum", md5sum)
    assert not rejected and [e.file_names for e in entries] == [("a.jpg",), ("b.jpg",), ("c.jpg",)]

    hashdeep = tmp_path / "audit.hashdeep"
    hashdeep.write_bytes(
        ("%%%% HASHDEEP-1.0\r%%%% size,md5,filename\r## x\r"
         f"10,{MD5[0]},a.jpg\r20,{MD5[1]},b.jpg\r").encode()
    )  # fmt: skip
    entries, rejected, _ = read_all("hashdeep", hashdeep)
    assert not rejected and [(e.media_size, e.md5) for e in entries] == [(10, MD5[0]), (20, MD5[1])]

    for name, text in (
        ("md5-list", f"{MD5[0]}\r{MD5[1]}\r"),
        ("tx", f"video_md5 {MD5[0]}\rvideo_md5 {MD5[1]}"),
        ("csv", f"signal_type,signal_str\rvideo_md5,{MD5[0]}\rvideo_md5,{MD5[1]}\r"),
    ):
        path = tmp_path / f"{name}.txt"
        path.write_bytes(text.encode())
        entries, rejected, _ = read_all(name, path)
        assert not rejected and [e.md5 for e in entries] == MD5, name


def test_crlf_cut_between_blocks_is_one_line_ending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.hashsets.formats import hexlist

    path = tmp_path / "l.txt"
    path.write_bytes(f"{MD5[0]}\r\n{MD5[1]}\r\n".encode())
    monkeypatch.setattr(hexlist, "_BLOCK", 33)  # the first block ends between CR and LF
    entries, rejected, _ = read_all("md5-list", path)
    assert not rejected and [e.md5 for e in entries] == MD5


@pytest.mark.parametrize("name", ["md5sum", "hashdeep", "md5-list", "tx", "tsk-idx", "csv", "icse"])
def test_an_overlong_line_is_fatal_and_named(tmp_path: Path, name: str) -> None:
    path = tmp_path / "long.txt"
    head = {
        "hashdeep": "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n",
        "csv": "signal_type,signal_str\n",
        "icse": "MD5;SHA1;Image ID;Series name\n",
    }.get(name, "")
    path.write_bytes(head.encode() + b"a" * 3_000_000 + b"\n")
    reason = _fails_cleanly(name, path)
    assert "longer than" in reason and "the rest of the file is not read" in reason


def test_a_sparse_file_of_nuls_under_every_forced_format_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with path.open("wb") as handle:
        handle.truncate(4 << 30)
    code = (
        "from pathlib import Path\n"
        "from vigil.errors import VigilError\n"
        "from vigil.hashsets.formats import FORMATS\n"
        "from tests.hashsets.helpers import read_all\n"
        "for name in FORMATS:\n"
        "    try:\n"
        f"        entries, rejected, _ = read_all(name, Path({str(path)!r}))\n"
        "        assert not entries and rejected and rejected[-1].fatal, name\n"
        "    except VigilError:\n"
        "        pass\n"
        "print('DONE')\n"
    )
    done = _run_limited(code, tmp_path, address_space=2 << 30)
    assert done.returncode == 0 and "DONE" in done.stdout, done.stderr[-3000:]


# -- --skip-invalid never skips the rest of a file ---------------------------------------


def test_skip_invalid_does_not_skip_an_unreadable_rest(tmp_path: Path, store_url: str) -> None:
    field_limit = samples.write_text(
        tmp_path / "f.csv",
        f'signal_type,signal_str\nvideo_md5,{MD5[0]}\nvideo_md5,"{"x" * 200_000}"\n',
    )
    decode = tmp_path / "d.csv"
    decode.write_bytes(
        f"MD5;SHA1;Image ID;Series name\n{MD5[0]};;1;s\n{MD5[1]};;2;s\n".encode() + b"\xff;;3;s\n"
    )
    header = samples.write_text(
        tmp_path / "h.hashdeep",
        f"%%%% HASHDEEP-1.0\n%%%% size,md5,bogus,filename\n1,{MD5[0]},x,a\n",
    )
    with open_store(store_url) as store:
        for path, fmt, where in (
            (field_limit, "csv", ":3"),
            (decode, "icse", ":4"),
            (header, "hashdeep", ":2"),
        ):
            with pytest.raises(InvalidRecordError) as caught:
                import_file(store.hashsets, path, format_name=fmt, skip_invalid=True)
            assert f"{path}{where}:" in str(caught.value), str(caught.value)
        assert store.hashsets.list() == []


# -- values that crashed -------------------------------------------------------------------


@pytest.mark.parametrize("category", ['"²"', '"' + "1" * 5000 + '"', "[1]", "1.5", "1" * 30])
def test_odd_categories_are_invalid_records(tmp_path: Path, category: str) -> None:
    path = _vics(
        tmp_path / "c.json", '"value": [{"MD5": "%s", "Category": %s}]' % (MD5[0], category)
    )
    _, rejected, _ = read_all("vics", path)
    assert len(rejected) == 1 and "ategory" in rejected[0].reason


def test_a_category_of_5000_digits_is_a_vigil_error(tmp_path: Path) -> None:
    path = _vics(
        tmp_path / "c.json", '"value": [{"MD5": "%s", "Category": %s}]' % (MD5[0], "7" * 5000)
    )
    assert "not valid JSON" in _fails_cleanly("vics", path)


def test_hashdeep_size_of_a_unicode_digit_is_an_invalid_record(tmp_path: Path) -> None:
    path = samples.write_text(
        tmp_path / "s.hashdeep", f"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n²,{MD5[0]},a\n"
    )
    _, rejected, _ = read_all("hashdeep", path)
    assert "is not a whole number" in rejected[0].reason


def test_a_filename_that_is_not_text_is_refused_so_exports_never_crash(tmp_path: Path) -> None:
    path = _vics(
        tmp_path / "n.json",
        '"value": [{"MD5": "%s", "MediaFiles": [{"FileName": 12}]}, '
        '{"MD5": "%s", "MediaFiles": [{"FileName": "ok.jpg"}, {"FileName": null}]}]' % tuple(MD5),
    )
    entries, rejected, _ = read_all("vics", path)
    assert "FileName must be text" in rejected[0].reason
    for name in ("md5sum", "hashdeep", "hashkeeper", "nsrl-rds2", "autopsy-kdb"):
        rewrite(name, entries, tmp_path / f"out-{name}")


# -- SQLite lists: tables only, with limits ----------------------------------------------


def _rds_with(path: Path, *statements: str) -> Path:
    samples.rds(path, samples.rds_rows())
    db = sqlite3.connect(path)
    for statement in statements:
        db.executescript(statement)
    db.commit()
    db.close()
    return path


ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)"


@pytest.mark.parametrize(
    "statements",
    [
        # an endless DISTINCT_HASH view: never run
        ("DROP VIEW DISTINCT_HASH",
         f"CREATE VIEW DISTINCT_HASH AS {ENDLESS} SELECT 'a', 'b', 'c', 'd' FROM n"),
        # an empty DISTINCT_HASH view over a full FILE: the digests come from FILE
        ("DROP VIEW DISTINCT_HASH",
         "CREATE VIEW DISTINCT_HASH AS SELECT sha256, sha1, md5, crc32 FROM FILE WHERE 0"),
        # a zeroblob view: never run
        ("DROP VIEW DISTINCT_HASH",
         "CREATE VIEW DISTINCT_HASH AS SELECT zeroblob(1000000000), 1, 1, 1 FROM FILE"),
        # an endless VERSION view: not read
        ("DROP TABLE VERSION", f"CREATE VIEW VERSION AS {ENDLESS} SELECT i, i, i, i, i FROM n"),
    ],
)  # fmt: skip
def test_rds_views_are_never_run(
    tmp_path: Path, store_url: str, statements: tuple[str, ...]
) -> None:
    path = _rds_with(tmp_path / "rds.db", *statements)
    assert detect_format(path) == "nsrl"
    with open_store(store_url) as store:
        report = import_file(store.hashsets, path, name="NSRL")
    assert report.imported == 2  # the distinct digest triples of the three FILE rows


def test_rds_blob_in_version_is_kept_as_text(tmp_path: Path, store_url: str) -> None:
    path = _rds_with(tmp_path / "rds.db", "UPDATE VERSION SET description = x'00ff10'")
    with open_store(store_url) as store:
        info = import_file(store.hashsets, path, name="NSRL").info
    assert info.attributes["nsrl_version"]["description"] == "x'00ff10'"


def test_rds_file_as_a_view_is_refused(tmp_path: Path) -> None:
    path = _rds_with(
        tmp_path / "rds.db",
        "ALTER TABLE FILE RENAME TO REAL_FILE",
        "CREATE VIEW FILE AS SELECT * FROM REAL_FILE",
    )
    assert "no FILE table" in _fails_cleanly("nsrl", path)


def test_rds_cells_are_bounded(tmp_path: Path) -> None:
    path = _rds_with(
        tmp_path / "rds.db",
        "INSERT INTO FILE VALUES (hex(randomblob(600000)), 'x', 'y', 'z', 'n', 1, 1)",
    )
    with pytest.raises(HashSetError, match="too big"):
        _read("nsrl", path, Limits(max_sqlite_value_bytes=100_000))


def test_corrupt_sqlite_pages_are_errors_even_in_detection(tmp_path: Path) -> None:
    path = samples.rds(tmp_path / "rds.db", samples.rds_rows())
    data = bytearray(path.read_bytes())
    for offset in range(200, len(data), 97):  # damage every page, header kept
        data[offset] = (data[offset] + 0x85) & 0xFF
    path.write_bytes(bytes(data))
    for name in FORMATS:
        with contextlib.suppress(VigilError):
            get_format(name).detect(bytes(data[:65536]), path)
    for name in ("nsrl", "autopsy-kdb"):
        _fails_cleanly(name, path)


def test_kdb_names_of_any_type_become_text(tmp_path: Path) -> None:
    path = rewrite("autopsy-kdb", [Entry(md5=MD5[0], file_names=("a",))], tmp_path / "h.kdb")
    db = sqlite3.connect(path)
    db.execute("INSERT INTO file_names (name, hash_id) VALUES (42, 1)")
    db.commit()
    db.close()
    entries, rejected, _ = read_all("autopsy-kdb", path)
    assert not rejected and entries[0].file_names == ("a", "42")


# -- paths that are not files --------------------------------------------------------------


def test_a_folder_or_fifo_gets_its_own_message(tmp_path: Path, store_url: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "is a folder" in (path_problem(tmp_path) or "")
    assert "FIFO" in (path_problem(fifo) or "")
    assert "device" in (path_problem(Path("/dev/null")) or "")
    assert "no such file" in (path_problem(tmp_path / "missing") or "")
    with open_store(store_url) as store, pytest.raises(HashSetError, match="FIFO"):
        import_file(store.hashsets, fifo)


def test_an_overlong_json_string_is_an_error(tmp_path: Path) -> None:
    path = _vics(
        tmp_path / "s.json", '"value": [{"MD5": "%s", "Comments": "%s"}]' % (MD5[0], "x" * 5000)
    )
    assert [e.md5 for e in _read("vics", path) if isinstance(e, Entry)] == [MD5[0]]
    with pytest.raises(HashSetError, match="a JSON string longer than 4,000 bytes"):
        _read("vics", path, Limits(max_json_string_bytes=4000))


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='ab"\\[]{}\u00e9', max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='k"\\[{', max_size=3), children, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(value=JSON_VALUES, chunk=st.integers(1, 17), ascii_only=st.booleans())
def test_the_json_pass_measures_depth_as_a_parser_does(
    value: object, chunk: int, ascii_only: bool
) -> None:
    from vigil.hashsets.formats import jsonguard

    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    original = jsonguard.CHUNK
    jsonguard.CHUNK = chunk  # strings, escapes and brackets cut between chunks
    try:
        assert jsonguard.scan(io.BytesIO(data), "f", 1000).depth == _depth(value)
    finally:
        jsonguard.CHUNK = original


def test_the_limits_are_settings(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _vics(tmp_path / "n.json", '"value": [{"MD5": "%s", "X": [[[[1]]]]}]' % MD5[0])
    lines = samples.write_text(tmp_path / "l.txt", f"{MD5[0]}\n{MD5[1]}  {'x' * 100}\n")
    monkeypatch.setenv("VIGIL_HASHSET_MAX_JSON_DEPTH", "4")
    monkeypatch.setenv("VIGIL_HASHSET_MAX_LINE_BYTES", "64")
    with open_store(store_url) as store:
        with pytest.raises(HashSetError, match="nested 5 levels deep"):
            import_file(store.hashsets, path)
        with pytest.raises(InvalidRecordError, match=r"l\.txt:2: a line longer than 64 bytes"):
            import_file(store.hashsets, lines, format_name="md5sum", skip_invalid=True)
        monkeypatch.delenv("VIGIL_HASHSET_MAX_JSON_DEPTH")
        assert import_file(store.hashsets, path).imported == 1


def test_batches_are_flushed_by_bytes_read_and_lose_nothing(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Huge records must not pile up in one batch: the importer flushes by bytes read."""
    from vigil.services import hashsets as service

    records = [{"MD5": f"{i:032x}", "Comments": "c" * 3000, "MediaID": i} for i in range(300)]
    path = samples.write_json(tmp_path / "wide.json", {"value": records})
    monkeypatch.setattr(service, "FLUSH_BYTES", 64 * 1024)
    with open_store(store_url) as store:
        report = import_file(store.hashsets, path, name="wide")
        entries = list(store.hashsets.entries("wide"))
    assert report.imported == 300
    assert [e.md5 for e in entries] == [f"{i:032x}" for i in range(300)]
    assert [e.extra["MediaID"] for e in entries] == list(range(300))
