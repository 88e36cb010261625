"""``vigil scan`` of disk images: same items from raw and split E01, matches of deleted and
carved pictures, hostile images as error items, resume after kill -9 inside an image,
``vigil verify-image`` into the audit log, and the reader's process isolation."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import vigil
from tests.media.test_diskimage import builder
from vigil.media.sources.isolate import ChildFailedError, in_child

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    m = builder()
    root = tmp_path_factory.mktemp("image-scan")
    (root / "raw").mkdir()
    (root / "e01").mkdir()
    raw = m.build_mbr_disk(root / "raw" / "suspect.dd")
    split = m.to_e01(raw, root / "e01" / "suspect", 40 << 20)
    return {"raw": raw, "split": split}


@pytest.fixture(scope="module")
def content() -> object:
    return builder().DiskContent.make()


def results(case: str, home: Path, *extra: str) -> list[dict]:
    out = vigil("results", case, *extra, home=home)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def inner(rows: list[dict], image: Path) -> dict[str, dict]:
    """Rows inside ``image`` by their path inside it, with what must agree across formats."""
    prefix = f"{image}!/"
    keep = ("kind", "size", "md5", "pdq", "error", "deleted", "partition", "filesystem")
    keep += ("inode", "offset")
    return {
        r["path"].removeprefix(prefix): {k: r[k] for k in keep}
        | {"matched": sorted(m["hashset"] for m in r["matches"])}
        for r in rows
        if r["path"].startswith(prefix)
    }


def test_raw_and_split_e01_give_the_same_items_and_matches(
    disks: dict[str, Path], content: object, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    wanted = [content.deleted, content.carved_fat, content.zipped]  # type: ignore[attr-defined]
    (tmp_path / "set.txt").write_text("".join(hashlib.md5(d).hexdigest() + "\n" for d in wanted))
    imported = vigil("hashset", "import", str(tmp_path / "set.txt"), "--name", "S", home=home)
    assert imported.returncode == 0, imported.stderr
    images = [disks["raw"], *sorted(disks["split"].parent.iterdir())]
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    for p in images:  # old access times: a read without O_NOATIME would move them
        os.utime(p, ns=(1_000_000_000_000_000_000, p.stat().st_mtime_ns))
    times = {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in images}
    raw = vigil("scan", str(disks["raw"]), "--case", "raw", "--carve", "-q", home=home)
    assert raw.returncode == 0, raw.stderr + raw.stdout
    # the E01's folder: found from content among other files, its second segment with it
    e01 = vigil("scan", str(disks["split"].parent), "--case", "e01", "--carve", "-q", home=home)
    assert e01.returncode == 0, e01.stderr + e01.stdout
    assert {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in images} == times
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in images} == digests
    raw_rows, e01_rows = results("raw", home), results("e01", home)
    assert inner(raw_rows, disks["raw"]) == inner(e01_rows, disks["split"])
    rows = inner(e01_rows, disks["split"])
    deleted = rows["p1/DCIM/_MG_1002.png"]
    assert deleted["deleted"] is True and deleted["matched"] == ["S"]
    assert (deleted["partition"], deleted["filesystem"]) == ("p1", "FAT32")
    fat = (builder().P1_START << 20) + builder().FAT_FREE_OFFSET
    carved = rows[f"p1/$Unallocated!/offset-{fat}.jpg"]
    assert carved["matched"] == ["S"] and carved["offset"] == fat
    assert rows["p1/docs/album.zip!/trip/IMG_1003.jpg"]["matched"] == ["S"]
    assert rows["p2/garden.png:hidden"]["filesystem"] == "NTFS"
    assert rows["p2/garden.png:hidden"]["md5"] == hashlib.md5(content.hidden).hexdigest()  # type: ignore[attr-defined]
    by_path = {r["path"]: r for r in e01_rows}
    assert by_path[str(disks["split"])]["kind"] == "disk image"
    assert by_path[str(disks["split"].with_suffix(".E02"))]["kind"] == "disk image segment"
    matched = {r["path"] for r in results("e01", home, "--matches-only")}
    assert f"{disks['split']}!/p1/DCIM/_MG_1002.png" in matched


def test_a_corrupt_image_is_an_error_item_and_the_scan_goes_on(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    data = bytearray(disks["raw"].read_bytes()[: 4 << 20])
    data[1 << 20 : (1 << 20) + 8192] = b"\xee" * 8192  # p1's file system destroyed
    (evidence / "a-corrupt.dd").write_bytes(bytes(data))
    (evidence / "b-cut.E01").write_bytes(disks["split"].read_bytes()[:100_000])
    (evidence / "c.txt").write_bytes(b"after the images\n")
    home = tmp_path / "home"
    scan = vigil("scan", str(evidence), "--case", "c", "-q", home=home)
    assert scan.returncode == 1, scan.stderr  # finished, with item errors
    rows = {r["path"]: r for r in results("c", home)}
    assert rows[str(evidence / "c.txt")]["error"] is None
    corrupt = [r["error"] for p, r in rows.items() if p.startswith(f"{evidence}/a-corrupt.dd!/")]
    assert any("no file system" in (e or "") for e in corrupt)
    assert "cannot read disk image" in rows[str(evidence / "b-cut.E01")]["error"]


SCRIPT = """
import json, sys, time
from pathlib import Path
from vigil.scan.case_sink import StoreCaseSink
from vigil.scan.engine import run_scan
from vigil.scan.worker import ImageLimits, ScanOptions
from vigil.services.cases import CaseService
from vigil.store import open_store

class SlowSink(StoreCaseSink):
    def record(self, seq, items):
        super().record(seq, items)
        time.sleep(float(sys.argv[3]))

store = open_store()
cases = CaseService(store)
case, _ = cases.open(sys.argv[2])
if sys.argv[1] == "dump":
    print(json.dumps([i.to_json() for i in cases.items(case)]))
else:
    options = ScanOptions(carve=True, images=ImageLimits(unit_items=1))
    run_scan([Path(sys.argv[1])], SlowSink(store, case), options, jobs=1)
store.close()
"""


def _script(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "VIGIL_HOME": str(home)}
    env.pop("VIGIL_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args], env=env, cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _finish(home: Path, *args: str) -> str:
    process = _script(home, *args)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def _units(home: Path) -> int:
    db = home / "vigil.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM case_sources").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("kill_after", [2, 9])
def test_resume_after_kill_9_inside_an_image(
    disks: dict[str, Path], tmp_path: Path, kill_after: int
) -> None:
    image = str(disks["split"])
    reference_home = tmp_path / "reference"
    _finish(reference_home, image, "c", "0")
    reference = json.loads(_finish(reference_home, "dump", "c", "0"))
    total = _units(reference_home)
    assert total > kill_after + 5  # the image is many units: one per item, region, segment

    home = tmp_path / "home"
    process = _script(home, image, "c", "0.15")
    deadline = time.monotonic() + 120
    while _units(home) < kill_after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, process.communicate()[1]
    os.killpg(process.pid, signal.SIGKILL)  # power loss: the scan and its reader children
    process.communicate()
    done_before = _units(home)
    assert kill_after <= done_before < total, "the scan finished before it could be killed"
    _finish(home, image, "c", "0")
    assert json.loads(_finish(home, "dump", "c", "0")) == reference


def test_verify_image_goes_to_the_audit_log(
    disks: dict[str, Path], content: object, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    notes = tmp_path / "notes.txt"
    notes.write_text("case notes\n")
    assert vigil("scan", str(notes), "--case", "c", "-q", home=home).returncode == 0
    good = vigil("verify-image", str(disks["split"]), "--case", "c", "--json", home=home)
    assert good.returncode == 0, good.stderr
    outcome = json.loads(good.stdout)
    assert outcome["verdict"] == "verified"
    assert outcome["stored"]["md5"] == hashlib.md5(disks["raw"].read_bytes()).hexdigest()
    bad = tmp_path / "bad.E01"
    data = bytearray(disks["split"].read_bytes())
    at = data.find(content.beach[4096:4160])  # type: ignore[attr-defined]
    assert at > 0  # stored uncompressed: corrupt a picture's bytes in the segment
    data[at : at + 512] = b"\xa5" * 512
    bad.write_bytes(bytes(data))
    (tmp_path / "bad.E02").write_bytes(disks["split"].with_suffix(".E02").read_bytes())
    named = vigil("verify-image", str(bad), "--case", "c", home=home)
    assert named.returncode == 1
    assert "mismatch" in named.stdout or "unreadable" in named.stdout
    log = vigil("audit", "c", home=home)
    assert log.returncode == 0, log.stderr
    assert log.stdout.count("image.verify") == 2


# -- the reader's isolation ---------------------------------------------------------------


def _then_hang(n: int) -> Iterator[int]:
    yield from range(n)
    time.sleep(60)
    yield -1


def _then_crash(n: int) -> Iterator[int]:
    yield from range(n)
    os.kill(os.getpid(), signal.SIGSEGV)
    yield -1


def _then_hog(n: int) -> Iterator[int]:
    yield from range(n)
    hog = [bytearray(64 << 20) for _ in range(64)]
    yield len(hog)


def _raises() -> Iterator[int]:
    yield 1
    raise ValueError("bad superblock")


@pytest.mark.parametrize(
    ("fn", "says", "idle"),
    [
        (_then_hang, "no progress", 2),
        (_then_crash, "crashed (SIGSEGV)", 60),
        (_then_hog, "memory", 60),
    ],
)
def test_a_crash_a_hang_or_a_memory_hog_costs_only_what_was_not_reached(fn, says, idle) -> None:  # type: ignore[no-untyped-def]
    got: list[int] = []
    with pytest.raises(ChildFailedError, match=says.replace("(", r"\(").replace(")", r"\)")):
        for value in in_child(fn, 3, idle_seconds=idle, memory_bytes=512 << 20):
            got.append(value)
    assert got == [0, 1, 2]


def test_an_exception_in_the_child_is_reported_with_its_text() -> None:
    got: list[int] = []
    with pytest.raises(ChildFailedError, match="bad superblock"):
        got.extend(in_child(_raises))
    assert got == [1]
    assert list(in_child(lambda: iter(range(5)))) == [0, 1, 2, 3, 4]


def test_image_format_forced_and_hash_of_an_image(disks: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    forced = vigil(
        "scan", str(disks["raw"]), "--case", "f", "--image-format", "ewf", "-q", home=home
    )
    assert forced.returncode == 1  # a raw image read as EWF: the image's error, nothing else
    rows = results("f", home)
    assert [r["kind"] for r in rows] == ["disk image"]
    assert "cannot read disk image" in rows[0]["error"]
    hashed = vigil("hash", "--json", str(disks["raw"]), home=home)
    paths = [json.loads(line)["path"] for line in hashed.stdout.splitlines()]
    assert f"{disks['raw']}!/p2/garden.png:hidden" in paths
    assert f"{disks['raw']}!/p1/docs/album.zip!/trip/IMG_1003.jpg" in paths
