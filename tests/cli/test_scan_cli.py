"""``vigil scan`` and ``vigil results`` as real processes: matches, resume after kill -9,
read-only evidence, hostile input."""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, vigil
from tests.factory import image_bytes, picture, video


def results(case: str, home: Path, *extra: str) -> list[dict]:
    out = vigil("results", case, *extra, home=home)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_example_scan_finds_exactly_the_expected_matches(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert vigil("hashset", "import", str(EXAMPLES / "hashsets" / "example-vics.json"),
                 "--name", "example", home=home).returncode == 0  # fmt: skip
    scan = vigil("scan", str(EXAMPLES / "evidence"), "--case", "demo", home=home)
    assert scan.returncode == 1, scan.stderr  # the corrupt example file is an item error
    rows = {Path(r["path"]).relative_to(EXAMPLES / "evidence").as_posix(): r
            for r in results("demo", home)}  # fmt: skip
    matched = {name: sorted({(m["signal_type"], m["category"]) for m in r["matches"]})
               for name, r in rows.items() if r["matches"]}  # fmt: skip
    assert matched == {
        "holiday/beach.jpg": [("md5", "1"), ("sha1", "1")],
        "misc/beach (copy).jpg": [("md5", "1"), ("sha1", "1")],
        "holiday/forest.png": [("md5", "1"), ("pdq", "1"), ("sha1", "1")],
        "holiday/sunset.webp": [("pdq", "2")],  # near duplicate of the re-encoded copy
    }
    assert rows["misc/beach (copy).jpg"]["duplicate_of"].endswith("holiday/beach.jpg")
    inner = rows["backup.tar!/backup/photos.zip!/photos/city.jpg"]
    assert inner["container"].endswith("backup.tar!/backup/photos.zip")
    assert inner["sha256"] == rows["misc/IMG_0042.txt"]["sha256"]
    assert rows["misc/IMG_0042.txt"]["type"] == "image/jpeg"
    assert "truncated" in rows["misc/broken.jpg"]["error"]
    assert [name for name, r in rows.items() if r["error"]] == ["misc/broken.jpg"]
    assert set(next(iter(rows.values()))) >= {
        "path", "container", "type", "size", "md5", "sha1", "sha256", "pdq", "known",
        "duplicate_of", "matches", "error",
    }  # fmt: skip
    only = results("demo", home, "--matches-only")
    assert len(only) == 4
    csv_out = vigil("results", "demo", "--format", "csv", home=home).stdout.splitlines()
    assert csv_out[0].startswith("path,container,type,size,md5,sha1,sha256,pdq,known")
    assert len(csv_out) == len(rows) + 1


def test_ignore_sets_mark_files_known(tmp_path: Path) -> None:
    home = tmp_path / "home"
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    data = image_bytes("JPEG")
    (evidence / "system.jpg").write_bytes(data)
    (evidence / "other.jpg").write_bytes(image_bytes("JPEG", picture(seed=3)))
    (tmp_path / "nsrl.txt").write_text(hashlib.md5(data).hexdigest() + "\n")
    assert vigil("hashset", "import", str(tmp_path / "nsrl.txt"), "--name", "NSRL",
                 "--kind", "ignore", home=home).returncode == 0  # fmt: skip
    assert vigil("scan", str(evidence), "--case", "c", home=home).returncode == 0
    rows = {Path(r["path"]).name: r for r in results("c", home)}
    assert rows["system.jpg"]["known"] and rows["system.jpg"]["pdq"] is None
    assert rows["system.jpg"]["matches"] == []  # ignore sets never alert
    assert not rows["other.jpg"]["known"] and rows["other.jpg"]["pdq"] is not None


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough work that a scan with one worker takes a few seconds."""
    root = tmp_path_factory.mktemp("resume") / "evidence"
    for i in range(40):
        folder = root / f"dir{i // 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"img{i:02d}.jpg").write_bytes(image_bytes("JPEG", picture(1600, 1200, seed=i)))
    for i in range(3):
        video(root / f"clip{i}.mp4", seconds=4, width=320, height=240, seed=i)
    return root


def _sources(home: Path) -> int:
    db = home / "vigil.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM case_sources").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("kill_after", [1, 12, 30])
def test_resume_after_kill_9(big_tree: Path, tmp_path: Path, kill_after: int) -> None:
    reference_home = tmp_path / "reference"
    assert (
        vigil("scan", str(big_tree), "--case", "c", "-j", "2", "-q", home=reference_home).returncode
        == 0
    )
    reference = results("c", reference_home)

    home = tmp_path / "home"
    env = {"VIGIL_HOME": str(home), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "vigil", "scan", str(big_tree), "--case", "c", "-j", "1", "-q"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while _sources(home) < kill_after and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # power loss: the whole process tree at once
    process.wait()
    done_before = _sources(home)
    assert done_before < 43, "the scan finished before it could be killed"
    resumed = vigil("scan", str(big_tree), "--case", "c", "-j", "2", home=home)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before}" in resumed.stdout  # the summary counts the sources skipped
    assert results("c", home) == reference


def test_evidence_is_not_changed(big_tree: Path, tmp_path: Path) -> None:
    def state() -> dict[str, tuple[str, int, int]]:
        return {
            str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), *_times(p))
            for p in sorted(big_tree.rglob("*"))
            if p.is_file()
        }

    for p in big_tree.rglob("*"):  # make atimes old, so that any read would move them
        if p.is_file():
            os.utime(p, ns=(1_000_000_000_000_000_000, p.stat().st_mtime_ns))
    before = state()
    assert (
        vigil("scan", str(big_tree), "--case", "ro", "-q", home=tmp_path / "home").returncode == 0
    )
    assert state() == before


def _times(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_atime_ns


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_hostile_corpus(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    root.mkdir()
    good = image_bytes("JPEG")
    (root / "good.jpg").write_bytes(good)
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.jpg").write_bytes(image_bytes("JPEG", picture(640, 480))[:3000])
    (root / "bomb.png").write_bytes(_png_header(100_000, 100_000))
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", zipfile.ZIP_BZIP2
    ) as z:  # 200 MB of zeros, a few hundred bytes
        z.writestr("zeros.bin", bz2.compress(b"") and bytes(200 << 20))
        z.writestr("../../escape.jpg", good)
        z.writestr("/absolute.jpg", good)
    (root / "bomb.zip").write_bytes(buffer.getvalue())
    nested = good
    for level in range(8):
        nested_buffer = io.BytesIO()
        with zipfile.ZipFile(nested_buffer, "w") as z:
            z.writestr(f"level{level}.bin", nested)
        nested = nested_buffer.getvalue()
    (root / "deep.zip").write_bytes(nested)
    enc = io.BytesIO()
    with zipfile.ZipFile(enc, "w") as z:
        z.writestr("secret.jpg", good)
    encrypted = bytearray(enc.getvalue())
    encrypted[6] |= 1
    encrypted[encrypted.index(b"PK\x01\x02") + 8] |= 1
    (root / "encrypted.zip").write_bytes(bytes(encrypted))
    os.mkfifo(root / "pipe")
    (root / "loop").symlink_to(root)
    with open(os.fsencode(root) + b"/bad\xffname.jpg", "wb") as f:
        f.write(good)
    deep = root
    for _ in range(30):
        deep = deep / ("d" * 120)
    deep.mkdir(parents=True)
    (deep / "far.jpg").write_bytes(good)

    home = tmp_path / "home"
    scan = vigil("scan", str(root), "--case", "hostile", home=home)
    assert scan.returncode == 1, scan.stderr
    rows = {r["path"][len(str(root)) + 1 :]: r for r in results("hostile", home)}
    errors = {name: r["error"] for name, r in rows.items() if r["error"]}
    assert errors["empty.jpg"] == "empty file (0 bytes)"
    assert "truncated" in errors["truncated.jpg"]
    assert "over the limit" in errors["bomb.png"]
    assert "ratio limit" in errors["bomb.zip!/zeros.bin"]
    assert errors["encrypted.zip!/secret.jpg"].startswith("encrypted zip member")
    assert rows["bomb.zip!/../../escape.jpg"]["sha256"] == hashlib.sha256(good).hexdigest()
    assert rows["bomb.zip!//absolute.jpg"]["error"] is None
    assert rows["pipe"]["md5"] is None and rows["pipe"]["error"] is None
    assert rows["loop"]["error"] is None and rows["loop"]["md5"] is None
    assert rows["good.jpg"]["error"] is None and rows["good.jpg"]["pdq"] is not None
    assert any(name.endswith("far.jpg") and r["pdq"] for name, r in rows.items())
    odd = rows["bad\\xffname.jpg"]  # not UTF-8: stored with an escape, hashed all the same
    assert odd["pdq"] == rows["good.jpg"]["pdq"]
    deepest = max(name.count("!/") for name in rows if name.startswith("deep.zip"))
    assert deepest == 8  # every level is opened (the default depth is 32; beyond: an error item)


def test_scan_on_postgresql(tmp_path: Path) -> None:
    """The same example scan with the case in PostgreSQL gives the same rows as on SQLite."""
    from tests.stores import postgres_schema_url

    hashset = str(EXAMPLES / "hashsets" / "example-vics.json")
    sqlite_home = tmp_path / "sqlite"
    vigil("hashset", "import", hashset, "--name", "EX", home=sqlite_home)
    vigil("scan", str(EXAMPLES / "evidence"), "--case", "demo", home=sqlite_home)
    expected = results("demo", sqlite_home)
    for url in postgres_schema_url():
        pg = {"home": tmp_path / "pg", "database_url": url}
        assert vigil("hashset", "import", hashset, "--name", "EX", **pg).returncode == 0
        scan = vigil("scan", str(EXAMPLES / "evidence"), "--case", "demo", "-q", **pg)
        assert scan.returncode == 1, scan.stderr  # the corrupt example file
        rows = [json.loads(line) for line in vigil("results", "demo", **pg).stdout.splitlines()]
        assert rows == expected
        audit = vigil("audit", "demo", "--verify", **pg)
        assert audit.returncode == 0, audit.stderr
