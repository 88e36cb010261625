"""``hash_items``: the scan's items, hashed, for ``vigil hash`` and ``vigil match``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.factory import image_bytes
from vigil.scan.engine import MemorySink, run_scan
from vigil.scan.walk import hash_items

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evidence"


def test_the_same_items_as_the_scan(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    shutil.copytree(EXAMPLES, evidence)
    sink = MemorySink()
    run_scan([evidence], sink, jobs=1)
    scanned = [(r.path, r.sha256, r.pdq, r.error) for rows in sink.rows.values() for r in rows]
    hashed = [(r.path, r.sha256, r.pdq, r.error) for r in hash_items([evidence], jobs=2)]
    assert hashed == scanned
    assert any("!/" in path for path, *_ in hashed)  # archive members included


def test_links_and_fifos_are_rows_without_hashes(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "link").symlink_to(tmp_path / "a.jpg")
    os.mkfifo(tmp_path / "pipe")
    rows = {Path(r.path).name: r for r in hash_items([tmp_path], jobs=1)}
    assert rows["a.jpg"].md5 is not None
    assert rows["link"].md5 is None and "not hashed: symbolic link" in rows["link"].notes
    assert rows["pipe"].md5 is None and "not hashed: fifo" in rows["pipe"].notes
