"""Finding 1 and 2: nothing unexamined is silent, and bombs are bounded by budgets.

A container that is not opened (too deep, over a budget, encrypted, of an unsupported
format) is an item with a specific error, counted in the summary, and the scan exits 1.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.cli_runner import vigil
from tests.integrity.helpers import home_with_set, known_picture, results
from tests.integrity.hostile import bomb_zip, nested_zip


def test_a_picture_seven_zips_deep_is_found_by_default(tmp_path: Path) -> None:
    picture = known_picture()
    home = home_with_set(tmp_path, picture)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "deep.zip").write_bytes(nested_zip(picture, "hidden.jpg", 7))
    scan = vigil("scan", str(evidence), "--case", "c", home=home)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    matched = [r for r in results("c", home) if r["matches"]]
    assert [r["path"].rsplit("!/", 1)[-1] for r in matched] == ["hidden.jpg"]


def test_a_container_beyond_the_depth_is_an_error_item_and_exit_1(tmp_path: Path) -> None:
    picture = known_picture()
    home = home_with_set(tmp_path, picture)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "deep.zip").write_bytes(nested_zip(picture, "hidden.jpg", 7))
    scan = vigil("scan", str(evidence), "--case", "c", "--max-depth", "3", home=home)
    assert scan.returncode == 1, scan.stdout + scan.stderr
    assert "not examined" in scan.stdout + scan.stderr
    rows = results("c", home)
    errors = [r for r in rows if r["error"]]
    assert len(errors) == 1
    assert "nested deeper than 3" in errors[0]["error"]
    assert errors[0]["path"].endswith("level4.zip!/")  # the container that stayed closed
    assert not any(r["matches"] for r in rows)
    again = vigil("scan", str(evidence), "--case", "c", "--max-depth", "3", home=home)
    assert again.returncode == 1 and "1 items not examined" in again.stderr  # a resume says so too


def test_unsupported_and_encrypted_containers_are_error_items(tmp_path: Path) -> None:
    home = home_with_set(tmp_path, known_picture())
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "a.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(64))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plain.txt", b"hello")
    raw = bytearray(buffer.getvalue())
    raw[6] |= 1  # the local header's "encrypted" flag
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 8] |= 1  # and the central directory's
    (evidence / "locked.zip").write_bytes(bytes(raw))
    scan = vigil("scan", str(evidence), "--case", "c", home=home)
    assert scan.returncode == 1, scan.stdout + scan.stderr
    errors = {r["path"].rsplit("/", 2)[-2] + "/" + r["path"].rsplit("/", 1)[-1]: r["error"]
              for r in results("c", home) if r["error"]}  # fmt: skip
    assert any("RAR" in e and "not supported" in e for e in errors.values()), errors
    assert any("encrypted" in e for e in errors.values()), errors


def test_a_42_zip_style_bomb_is_stopped_by_the_budget_and_reported(tmp_path: Path) -> None:
    home = home_with_set(tmp_path, known_picture())
    evidence = tmp_path / "ev"
    evidence.mkdir()
    # 16**4 leaves of 3 MB of zeros: about 200 GB, each member far under the ratio limit.
    bomb = bomb_zip(leaf_bytes=3 << 20)
    assert len(bomb) < 200_000
    (evidence / "42.zip").write_bytes(bomb)
    scan = vigil("scan", str(evidence), "--case", "c", "--jobs", "1", home=home, timeout=180)
    assert scan.returncode == 1, scan.stdout + scan.stderr
    rows = results("c", home)
    budget = [r for r in rows if r["error"] and "budget" in r["error"]]
    assert budget, [r["error"] for r in rows if r["error"]][:5]
    assert len(rows) < 5000


def test_a_7z_bomb_stops_decompressing_once_the_budget_is_spent(tmp_path: Path) -> None:
    """The budget stops the decompression itself, not only the keeping of what comes out."""
    import py7zr

    from vigil.media.archives import ArchiveLimits, Budget, members

    path = tmp_path / "bomb.7z"
    with py7zr.SevenZipFile(path, "w") as archive:
        for i in range(40):
            archive.writestr(bytes(1 << 20), f"zeros{i}.bin")
    limits = ArchiveLimits(expansion_floor=4 << 20, max_expansion=1.0)
    with path.open("rb") as stream:
        found = list(members(stream, "application/x-7z-compressed", "bomb.7z", limits,
                             Budget.for_source(limits, path.stat().st_size)))  # fmt: skip
    assert len(found) < 10, [m.error for m in found]
    assert (
        found[-1].error is not None and "the rest of this archive was not read" in found[-1].error
    )
    assert "budget" in found[-1].error


def test_once_the_budget_is_spent_one_item_stands_for_the_rest() -> None:
    from vigil.media.archives import ArchiveLimits, Budget, members

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(5000):
            archive.writestr(f"z{i}.bin", bytes(4096))
    limits = ArchiveLimits(expansion_floor=1 << 20, max_expansion=1.0)
    budget = Budget.for_source(limits, len(buffer.getvalue()))
    found = list(members(buffer, "application/zip", "z.zip", limits, budget))
    assert len(found) < 300
    assert found[-1].name == "" and "the rest of this archive was not read" in (
        found[-1].error or ""
    )


def test_a_bomb_of_many_small_members_is_stopped_by_the_items_budget(tmp_path: Path) -> None:
    """The finding's bomb: 4 layers of 16 copies, 200 MB of zeros in 65,536 small leaves."""
    from vigil.media.sources.registry import walk

    (tmp_path / "42.zip").write_bytes(bomb_zip())
    items = list(walk([tmp_path]))
    assert len(items) < 12_000
    stops = [i for i in items if i.error and "budget of 10,000 members" in i.error]
    assert stops and all(i.path.endswith("!/") for i in stops)
