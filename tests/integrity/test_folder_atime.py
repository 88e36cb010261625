"""Finding 7: scanning leaves every folder's access time as it was (O_NOATIME on folders)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_runner import vigil
from tests.factory import image_bytes, picture

OLD = 1_000_000_000_000_000_000  # 2001, before the folders' mtime: relatime would move it


def test_folder_atimes_are_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    (root / "a" / "b" / "x.jpg").write_bytes(image_bytes("JPEG", picture(seed=2)))
    (root / "c" / "y.txt").write_text("text")
    folders = [root, root / "a", root / "a" / "b", root / "c"]
    for folder in [*folders, *root.rglob("*.*")]:
        os.utime(folder, ns=(OLD, folder.stat().st_mtime_ns))
    before = {str(p): (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in folders}
    scan = vigil("scan", str(root), "--case", "ro", "-q", home=tmp_path / "home")
    assert scan.returncode == 0, scan.stderr
    after = {str(p): (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in folders}
    assert after == before
