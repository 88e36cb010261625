"""The per-source scan work: a file on disk and the members of archives in it."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from tests.factory import image_bytes
from vigil.media.evidence import walk
from vigil.scan.worker import ScanOptions, scan_source

JPEG = image_bytes("JPEG")


def test_archive_members_are_hashed_like_files(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("inner/a.jpg", JPEG)
    (tmp_path / "photos.zip").write_bytes(buffer.getvalue())
    (tmp_path / "a.jpg").write_bytes(JPEG)
    rows = [r for e in walk([tmp_path], expand=False) for r in scan_source(e, ScanOptions())]
    by_path = {
        Path(r.path).name if "!/" not in r.path else r.path.split("!/", 1)[1]: r for r in rows
    }
    assert set(by_path) == {"a.jpg", "photos.zip", "inner/a.jpg"}
    member, disk = by_path["inner/a.jpg"], by_path["a.jpg"]
    assert member.sha256 == disk.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert member.pdq == disk.pdq and member.pdq is not None
    assert member.source == by_path["photos.zip"].path == member.container
    assert member.depth == 1 and disk.depth == 0


def test_known_archives_are_not_opened(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.jpg", JPEG)
    (tmp_path / "known.zip").write_bytes(buffer.getvalue())
    (entry,) = walk([tmp_path], expand=False)
    rows = scan_source(entry, ScanOptions(known=lambda d: True))
    assert len(rows) == 1 and rows[0].known


def test_links_are_rows_without_hashes(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc/hostname")
    (entry,) = walk([tmp_path], expand=False)
    (row,) = scan_source(entry, ScanOptions())
    assert (row.kind, row.link_target, row.md5) == ("symbolic link", "/etc/hostname", None)


def test_files_that_vanish_or_change_during_the_scan(tmp_path: Path) -> None:
    (tmp_path / "gone.jpg").write_bytes(JPEG)
    (tmp_path / "grows.jpg").write_bytes(JPEG)
    entries = {Path(e.path).name: e for e in walk([tmp_path], expand=False)}
    (tmp_path / "gone.jpg").unlink()
    (tmp_path / "grows.jpg").write_bytes(JPEG + b"appended after the walk")
    (gone,) = scan_source(entries["gone.jpg"], ScanOptions())
    assert gone.error is not None and gone.error.startswith("cannot open: No such file")
    (grown,) = scan_source(entries["grows.jpg"], ScanOptions())
    assert grown.error is None and grown.size == len(JPEG) + 23  # hashed as it is now
    assert "file changed between listing and reading" in grown.notes[0]
    assert entries["grows.jpg"].size == len(JPEG)  # the walk recorded it as it was
