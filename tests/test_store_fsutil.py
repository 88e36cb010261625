"""The atomic-write helper: whole file or old file, the mode asked for, no leftovers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.fsutil import atomic_open, atomic_path, atomic_write


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_replaces_and_is_private_by_default(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    assert atomic_write(target, "new é") == target
    assert target.read_bytes() == "new é".encode()
    assert _mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_explicit_and_umask_modes(tmp_path: Path) -> None:
    atomic_write(tmp_path / "key.pub", b"k", mode=0o644)
    assert _mode(tmp_path / "key.pub") == 0o644
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "plain", b"x", mode=None)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "plain") == 0o640


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    with pytest.raises(KeyboardInterrupt), atomic_path(target, suffix=".zip") as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_path_keeps_the_suffix_writers_need(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.npy", suffix=".npy", mode=None) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".npy") and tmp.exists()
        tmp.write_bytes(b"data")
    assert (tmp_path / "a.npy").read_bytes() == b"data"


def test_a_missing_folder_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "such" / "file", b"x")


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=5000) | st.text(max_size=2000))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, data: bytes | str) -> None:
    target = tmp_path_factory.mktemp("rt") / "f"
    atomic_write(target, data)
    assert target.read_bytes() == (data.encode() if isinstance(data, str) else data)
