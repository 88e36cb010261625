"""Interoperability with a real peer: The Sleuth Kit's ``hfind`` (Debian ``sleuthkit``).

Both directions:

- sets that Vigil writes as md5sum, HashKeeper, EnCase, NSRL RDS 2.x and Autopsy .kdb
  (and TSK .idx) are indexed by ``hfind -i <type>`` (the .kdb and .idx need no index)
  and every hash is found by ``hfind DB HASH``, while hashes not in the set are not;
- a .kdb that ``hfind -c``/``hfind -a`` built, the ``.idx`` indexes ``hfind -i``
  builds, and lists laid out as the tools write them, import into Vigil with the
  entries that ``hfind`` finds; Vigil's own ``.idx`` is searched by ``hfind`` alone.

TSK 4.11.1 (Debian 12) has two bugs in its text-database lookups, found here: for
HashKeeper, ``hk_makeindex`` never counts the header line in its offsets, and for
EnCase, ``encase_make_index`` stores offsets from the first record instead of from
the start of the file (1152 bytes earlier). Its index finds the hash, then reading the
entry at the wrong offset fails ("Corrupt hash database (hk_getentry ...)", "Hash
not found in file at offset"), whoever wrote the file. So for those two formats the
tests ask the index with quick mode, ``hfind -q DB HASH`` (1 found, 0 not), which is
the index lookup Autopsy's ingest uses.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.hashsets.helpers import read_all, rewrite
from vigil.hashsets.formats import detect_format
from vigil.hashsets.model import Entry

HFIND = shutil.which("hfind")
pytestmark = pytest.mark.skipif(
    HFIND is None, reason="hfind not found: install Debian's sleuthkit (./dev does)"
)
N = 40


def md5(i: int) -> str:
    return hashlib.md5(f"benign file {i}".encode()).hexdigest()


def sha1(i: int) -> str:
    return hashlib.sha1(f"benign file {i}".encode()).hexdigest()


ENTRIES = [
    Entry(md5=md5(i), sha1=sha1(i), file_names=(f"dir\\file {i}.bin",), media_size=i)
    for i in range(N)
]
ABSENT = [hashlib.md5(f"absent {i}".encode()).hexdigest() for i in range(5)]


def hfind(*args: str | Path) -> str:
    done = subprocess.run(
        [HFIND or "hfind", *map(str, args)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def index(kind: str, db: Path) -> None:
    assert "Index created" in hfind("-i", kind, db)


def lookup_all(db: Path, hashes: list[str], tmp_path: Path) -> dict[str, str]:
    """Non-quick batch lookup: hash -> what hfind printed for it (name or 'Hash Not Found').

    For a .kdb, TSK 4.11.1 prints the stored MD5 through ``sqlite3_column_text``, so a
    digest with a zero byte is printed cut short at it: hfind answers in the order asked,
    so each line is matched to the next asked hash that it is a prefix of.
    """
    listing = tmp_path / "lookup.txt"
    listing.write_text("\n".join(hashes) + "\n")
    out: dict[str, str] = {}
    pending = iter(hashes)
    for line in hfind("-f", listing, db).splitlines():
        digest, _, rest = line.partition("\t")
        if not digest.strip():
            continue  # hfind's NSRL output has a blank line after each hit
        for wanted in pending:
            if wanted.startswith(digest.lower()):
                out[wanted] = rest
                break
    return out


def quick(db: Path, digest: str) -> bool:
    answer = hfind("-q", db, digest).strip()
    assert answer in ("0", "1"), answer
    return answer == "1"


def test_md5sum_export_is_read_by_hfind(tmp_path: Path) -> None:
    """Names with a backslash get coreutils' escape (a leading ``\\``), which hfind refuses."""
    entries = [Entry(md5=md5(i), file_names=(f"dir/file {i}.bin",)) for i in range(N)]
    db = rewrite("md5sum", entries, tmp_path / "known.md5")
    index("md5sum", db)
    found = lookup_all(db, [md5(i) for i in range(N)] + ABSENT, tmp_path)
    for i in range(N):
        assert found[md5(i)] == f"dir/file {i}.bin"
    assert all(found[a] == "Hash Not Found" for a in ABSENT)


def test_hashkeeper_export_is_indexed_and_found(tmp_path: Path) -> None:
    db = rewrite("hashkeeper", ENTRIES, tmp_path / "known.hsh")
    index("hk", db)
    assert all(quick(db, md5(i)) for i in range(N))
    assert not any(quick(db, a) for a in ABSENT)


def test_encase_export_is_indexed_and_found(tmp_path: Path) -> None:
    db = rewrite("encase", ENTRIES, tmp_path / "known.hash", attributes={"encase_name": "Lab set"})
    index("encase", db)
    assert all(quick(db, md5(i)) for i in range(N))
    assert not any(quick(db, a) for a in ABSENT)
    # hfind takes the set's name from offset 1032, as Vigil writes it
    assert "Lab set" in (tmp_path / "known.hash-md5.idx").read_text(errors="replace")


@pytest.mark.parametrize("kind", ["nsrl-sha1", "nsrl-md5"])
def test_rds2_export_is_indexed_and_found(tmp_path: Path, kind: str) -> None:
    archive = rewrite(
        "nsrl-rds2",
        [Entry(md5=e.md5, sha1=e.sha1, extra={"nsrl_products": ["Suite 1"]}) for e in ENTRIES],
        tmp_path / "rds.zip",
    )
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path)
    db = tmp_path / "NSRLFile.txt"
    index(kind, db)
    wanted = [sha1(i) if kind == "nsrl-sha1" else md5(i) for i in range(N)]
    absent = (
        [hashlib.sha1(a.encode()).hexdigest() for a in ABSENT] if kind == "nsrl-sha1" else ABSENT
    )
    found = lookup_all(db, wanted + absent, tmp_path)
    assert all(found[w] != "Hash Not Found" for w in wanted)
    assert all(found[a] == "Hash Not Found" for a in absent)


def test_kdb_export_is_read_by_hfind(tmp_path: Path) -> None:
    db = rewrite("autopsy-kdb", ENTRIES, tmp_path / "known.kdb")
    found = lookup_all(db, [md5(i) for i in range(N)] + ABSENT, tmp_path)
    for i in range(N):
        assert found[md5(i)] == f"dir\\file {i}.bin"
    assert all(found[a] == "Hash Not Found" for a in ABSENT)


def test_kdb_built_by_hfind_imports_with_the_same_hashes(tmp_path: Path) -> None:
    db = tmp_path / "made-by-tsk.kdb"
    assert "created" in hfind("-c", db)
    digests = [md5(i) for i in range(N)]
    out = hfind("-a", db, *digests)
    assert out.count("added") == N
    assert detect_format(db) == "autopsy-kdb"
    entries, rejected, _ = read_all("autopsy-kdb", db)
    assert rejected == []
    assert [e.md5 for e in entries] == digests
    assert all(e.sha1 is None and e.file_names == () for e in entries)


def test_tool_shaped_lists_import_with_what_hfind_finds(tmp_path: Path) -> None:
    """Files laid out as HashKeeper, EnCase and NIST wrote them: hfind and Vigil agree."""
    hk = tmp_path / "hk.hsh"
    hk.write_text(
        '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",'
        '"time_modified","time_zone","comments","date_accessed","time_accessed"\r\n'
        + "".join(
            f'{i},3,"f{i}.exe","C:\\App","{md5(i).upper()}",{i},01/02/2003,10:11:12,"EST",,,\r\n'
            for i in range(N)
        )
    )
    nsrl = tmp_path / "NSRLFile.txt"
    nsrl.write_text(
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\r\n'
        + "".join(
            f'"{sha1(i).upper()}","{md5(i).upper()}","0A1B2C3D","f{i}.dll",{i},'
            f'{1 + i % 3},"WIN",""\r\n'
            for i in range(N)
        )
    )
    encase = tmp_path / "known.hash"
    header = bytearray(1152)
    header[:16] = b"HASH\r\n\xff\x00\x02\x00\x00\x00\x01\x00\x00\x00"
    header[16:20] = N.to_bytes(4, "little")
    encase.write_bytes(bytes(header) + b"".join(bytes.fromhex(md5(i)) + b"\0\0" for i in range(N)))
    for path, kind, vigil_format in (
        (hk, "hk", "hashkeeper"),
        (nsrl, "nsrl-md5", "nsrl-rds2"),
        (encase, "encase", "encase"),
    ):
        index(kind, path)
        assert detect_format(path) == vigil_format
        entries, rejected, _ = read_all(vigil_format, path)
        assert rejected == []
        assert [e.md5 for e in entries] == [md5(i) for i in range(N)]
        if kind == "nsrl-md5":
            found = lookup_all(path, [md5(i) for i in range(N)], tmp_path)
            assert all(v != "Hash Not Found" for v in found.values()) and len(found) == N
        else:
            assert all(quick(path, md5(i)) for i in range(N))


def test_tsk_idx_export_is_searched_by_hfind_alone(tmp_path: Path) -> None:
    """An index-only file: hfind needs the ``-md5.idx`` ending to recognise one."""
    db = rewrite("tsk-idx", ENTRIES, tmp_path / "known-md5.idx")
    found = lookup_all(db, [md5(i) for i in range(N)] + ABSENT, tmp_path)
    assert all(found[md5(i)] == "File name not available" for i in range(N))
    assert all(found[a] == "Hash Not Found" for a in ABSENT)
    assert all(quick(db, md5(i)) for i in range(0, N, 7))


@pytest.mark.parametrize("kind", ["md5sum", "hk", "encase", "nsrl-md5", "nsrl-sha1"])
def test_indexes_hfind_builds_import_with_the_same_hashes(tmp_path: Path, kind: str) -> None:
    fmt = {"md5sum": "md5sum", "hk": "hashkeeper", "encase": "encase"}.get(kind, "nsrl-rds2")
    entries = [Entry(md5=md5(i), sha1=sha1(i), file_names=(f"f{i}.bin",)) for i in range(N)]
    if fmt == "nsrl-rds2":
        with zipfile.ZipFile(rewrite(fmt, entries, tmp_path / "rds.zip")) as z:
            z.extractall(tmp_path)
        db = tmp_path / "NSRLFile.txt"
    else:
        db = rewrite(fmt, entries, tmp_path / "db")
    index(kind, db)
    idx = tmp_path / f"{db.name}-{'sha1' if kind == 'nsrl-sha1' else 'md5'}.idx"
    assert detect_format(idx) == "tsk-idx"
    got, rejected, ctx = read_all("tsk-idx", idx)
    assert rejected == []
    if kind == "nsrl-sha1":
        assert [e.sha1 for e in got] == sorted(sha1(i) for i in range(N))
    else:
        assert [e.md5 for e in got] == sorted(md5(i) for i in range(N))
    assert ctx.attributes["tsk_idx_type"] == kind.split("-")[0]
