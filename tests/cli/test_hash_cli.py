"""``vigil hash`` end to end, as a real process: outputs, exit codes, parallelism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factory import image_bytes, picture, video


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.jpg").write_bytes(image_bytes("JPEG", picture(320, 240, seed=1)))
    (root / "sub" / "b.png").write_bytes(image_bytes("PNG", picture(200, 100, seed=2)))
    (root / "sub" / "deeper" / "c.txt").write_text("hello\n")
    video(root / "sub" / "clip.mp4", seconds=2)
    return root


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_json_lines_for_a_folder(evidence: Path) -> None:
    result = run("hash", "--json", str(evidence))
    assert result.returncode == 0, result.stderr
    rows = records(result.stdout)
    names = [Path(r["path"]).name for r in rows]
    assert names == ["a.jpg", "b.png", "clip.mp4", "c.txt"]
    by_name = dict(zip(names, rows, strict=True))
    assert by_name["a.jpg"]["type"] == "image/jpeg" and len(by_name["a.jpg"]["pdq"]) == 64
    assert len(by_name["clip.mp4"]["vpdq"]) == 2
    assert by_name["c.txt"]["pdq"] is None
    assert all(r["error"] is None for r in rows)


def test_parallel_output_equals_serial_output(evidence: Path) -> None:
    serial = run("hash", "--json", "-j", "1", str(evidence))
    parallel = run("hash", "--json", "-j", "2", str(evidence))
    assert records(serial.stdout) == records(parallel.stdout)


def test_exit_code_one_when_a_file_fails(evidence: Path) -> None:
    (evidence / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0broken")
    result = run("hash", "--json", str(evidence))
    assert result.returncode == 1
    rows = {Path(r["path"]).name: r for r in records(result.stdout)}
    assert rows["broken.jpg"]["error"].startswith("cannot")
    assert rows["a.jpg"]["error"] is None  # the run went on
    assert "1 of 5 files could not be fully hashed" in result.stderr


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    missing = run("hash", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no such file or folder" in missing.stderr
    assert run("hash", "--mode", "sloppy", str(tmp_path)).returncode == 2
    assert run("hash").returncode == 2


def test_tx_format_loads_in_python_threatexchange(evidence: Path) -> None:
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    result = run("hash", "--format", "tx", str(evidence))
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    kinds = {"pdq": PdqSignal, "video_md5": VideoMD5Signal}
    assert sorted(line.split()[0] for line in lines) == ["pdq", "pdq", "video_md5"]
    for line in lines:
        kind, value = line.split()
        assert kinds[kind].validate_signal_str(value) == value


def test_table_output(evidence: Path) -> None:
    result = run("hash", "--format", "table", str(evidence / "a.jpg"))
    assert result.returncode == 0
    assert "image/jpeg" in result.stdout and "a.jpg" in result.stdout


def test_dihedral_and_exact_mode(evidence: Path) -> None:
    result = run("hash", "--json", "--dihedral", "--mode", "exact", str(evidence / "a.jpg"))
    (row,) = records(result.stdout)
    assert set(row["pdq_dihedral"]) == {
        "original",
        "rotate90",
        "rotate180",
        "rotate270",
        "flipx",
        "flipy",
        "flip_plus1",
        "flip_minus1",
    }


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("vigil ")


def test_archives_are_opened_as_the_scan_opens_them(tmp_path: Path) -> None:
    import io
    import zipfile

    jpeg = image_bytes("JPEG", picture(320, 240, seed=1))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("inner/b.jpg", jpeg)
    (tmp_path / "photos.zip").write_bytes(buffer.getvalue())
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = run("hash", "--json", str(tmp_path))
    rows = {r["path"].removeprefix(str(tmp_path) + "/"): r for r in records(result.stdout)}
    assert list(rows) == ["bad.zip", "bad.zip!/", "photos.zip", "photos.zip!/inner/b.jpg"]
    assert len(rows["photos.zip!/inner/b.jpg"]["pdq"]) == 64
    assert rows["bad.zip!/"]["error"].startswith("cannot read archive")
    assert result.returncode == 1 and "1 of 4 files" in result.stderr
