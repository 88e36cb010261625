"""Walking evidence trees and archives nested in them."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

from tests.factory import image_bytes
from vigil.media.archives import ArchiveLimits
from vigil.media.evidence import walk

JPEG = image_bytes("JPEG")


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def tarred(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def paths(root: Path, **kwargs: object) -> dict[str, object]:
    return {
        os.path.relpath(i.path.split("!/")[0], root)
        + ("!/" + i.path.split("!/", 1)[1] if "!/" in i.path else ""): i
        for i in walk([root], **kwargs)  # type: ignore[arg-type]
    }


def test_nested_archives_are_read_in_memory(tmp_path: Path) -> None:
    (tmp_path / "backup.tar").write_bytes(tarred({"x/photos.zip": zipped({"a.jpg": JPEG})}))
    before = sorted(p.name for p in tmp_path.iterdir())
    items = paths(tmp_path)
    assert list(items) == [
        "backup.tar",
        "backup.tar!/x/photos.zip",
        "backup.tar!/x/photos.zip!/a.jpg",
    ]
    inner = items["backup.tar!/x/photos.zip!/a.jpg"]
    assert inner.data == JPEG and inner.depth == 2  # type: ignore[attr-defined]
    assert inner.container.endswith("backup.tar!/x/photos.zip")  # type: ignore[attr-defined]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing extracted


def test_depth_limit(tmp_path: Path) -> None:
    data = JPEG
    for level in range(4):
        data = zipped({f"level{level}.bin": data})
    (tmp_path / "deep.zip").write_bytes(data)
    items = list(walk([tmp_path], ArchiveLimits(max_depth=2)))
    assert [i.depth for i in items] == [0, 1, 2, 3]  # the last: the container not opened
    assert items[-1].path == items[-2].path + "!/"
    assert "nested deeper than 2 levels" in (items[-1].error or "")


def test_links_fifos_and_loops(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a.jpg").write_bytes(JPEG)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not evidence")
    os.symlink(outside, root / "d" / "escape")
    os.symlink(root / "d", root / "d" / "loop")
    os.mkfifo(root / "pipe")
    items = paths(root)
    assert set(items) == {"d/a.jpg", "d/escape", "d/loop", "pipe"}
    assert items["d/escape"].kind == "symbolic link"  # type: ignore[attr-defined]
    assert items["d/escape"].link_target == str(outside)  # type: ignore[attr-defined]
    assert items["pipe"].kind == "fifo"  # type: ignore[attr-defined]


def test_corrupt_archive_is_one_error_item(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    items = list(walk([tmp_path]))
    assert items[0].path.endswith("bad.zip") and items[0].error is None
    assert items[1].error is not None and items[1].error.startswith("cannot read archive")


def test_undecodable_and_long_names(tmp_path: Path) -> None:
    odd = os.fsencode(tmp_path) + b"/caf\xe9.jpg"
    with open(odd, "wb") as f:
        f.write(JPEG)
    deep = tmp_path
    for _ in range(20):
        deep = deep / ("x" * 100)
    os.makedirs(deep)
    (deep / "y.jpg").write_bytes(JPEG)
    items = list(walk([tmp_path]))
    assert len(items) == 2 and all(i.error is None for i in items)
    (named,) = [i for i in items if i.fs_path and os.fsencode(i.fs_path) == odd]
    assert named.path.endswith("caf\\xe9.jpg")  # shown with an escape; opened by its real name
    assert "not valid UTF-8" in named.notes[0]


def test_times_are_as_found(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(JPEG)
    os.utime(path, (1_000_000_000, 1_100_000_000))
    (item,) = list(walk([path]))
    assert (item.atime, item.mtime, item.size) == (1_000_000_000, 1_100_000_000, len(JPEG))
