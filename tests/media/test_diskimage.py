"""Disk images as a source: detection, partitions, file systems, deleted files, streams, carving.

The images are built by ``examples/make_disk_image.py`` with the Debian tools (no
root, no mounting): an MBR disk with FAT32, NTFS and an ext4 logical partition, a GPT
disk with exFAT and ext4, the MBR disk as one E01 and as an E01 split in two.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.media.sources.base import Locator
from vigil.media.sources.diskimage import DiskImageSource, detect_head, image_facts
from vigil.media.sources.ewf import EwfReader, open_reader, raw_segments, verify
from vigil.media.sources.folder import FolderSource
from vigil.media.sources.registry import read_locator, walk

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("mkfs.vfat", "mcopy", "mkfs.ntfs", "ntfscp", "mkfs.ext4", "mkfs.exfat", "sfdisk")
TOOLS += ("sgdisk", "ewfacquire")


def builder() -> ModuleType:
    """``examples/make_disk_image.py`` as a module (skips when its tools are missing)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"disk-image tools missing (./dev installs them): {', '.join(missing)}")
    spec = importlib.util.spec_from_file_location(
        "make_disk_image", REPO / "examples" / "make_disk_image.py"
    )
    assert spec is not None and spec.loader is not None
    if spec.name in sys.modules:
        return sys.modules[spec.name]
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    m = builder()
    root = tmp_path_factory.mktemp("disks")
    for folder in ("raw", "split", "one", "gpt"):
        (root / folder).mkdir()
    raw = m.build_mbr_disk(root / "raw" / "disk.dd")
    split = m.to_e01(raw, root / "split" / "disk", 40 << 20)
    one = m.to_e01(raw, root / "one" / "disk")
    gpt = m.build_gpt_disk(root / "gpt" / "card.img")
    return {"raw": raw, "split": split, "one": one, "gpt": gpt}


@pytest.fixture(scope="module")
def content() -> object:
    return builder().DiskContent.make()


def inside(image: Path, carve: bool = False) -> dict[str, object]:
    """The items inside ``image`` by their path inside it."""
    source = DiskImageSource(FolderSource([image]), Locator.file(image), carve=carve)
    prefix = f"{image}!/"
    return {item.path.removeprefix(prefix): item for item in source.walk()}


def test_detection_from_content(disks: dict[str, Path]) -> None:
    for name in ("raw", "one", "split", "gpt"):
        with disks[name].open("rb") as f:
            assert detect_head(f.read(4096)) is not None, name
    with disks["split"].with_suffix(".E02").open("rb") as f:
        assert detect_head(f.read(4096)) is None  # a later segment is read through the first
    with (REPO / "examples" / "evidence" / "holiday" / "beach.jpg").open("rb") as f:
        assert detect_head(f.read(4096)) is None


@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_are_rarely_images(head: bytes) -> None:
    # Without a boot signature, an ext/HFS+ magic or the EWF signature nothing is an image.
    if b"\x55\xaa" not in head and b"EVF" not in head and b"\x53\xef" not in head:
        assert detect_head(head, "x.bin") is None


def test_mbr_partitions_file_systems_deleted_files_and_streams(
    disks: dict[str, Path], content: object
) -> None:
    items = inside(disks["raw"])
    beach = items["p1/DCIM/IMG_1001.jpg"]
    assert beach.data == content.beach  # type: ignore[attr-defined]
    facts = image_facts(beach.notes)
    assert facts == {
        "deleted": False, "partition": "p1", "filesystem": "FAT32", "inode": facts["inode"],
        "offset": None,
    }  # fmt: skip
    deleted = items["p1/DCIM/_MG_1002.png"]  # FAT keeps all but the first letter
    assert image_facts(deleted.notes)["deleted"] is True
    assert deleted.data == content.deleted  # type: ignore[attr-defined]
    assert items["p2/garden.png"].data == content.sunset  # type: ignore[attr-defined]
    stream = items["p2/garden.png:hidden"]
    assert stream.data == content.hidden  # type: ignore[attr-defined]
    assert image_facts(stream.notes)["filesystem"] == "NTFS"
    notes = items["p3/home/todo.txt"]  # a logical partition inside the extended one
    assert notes.data == content.notes  # type: ignore[attr-defined]
    assert image_facts(notes.notes)["filesystem"] == "ext4"
    assert not [p for p, i in items.items() if i.error]


def test_an_archive_inside_an_image_is_opened(disks: dict[str, Path], content: object) -> None:
    paths = {item.path.removeprefix(f"{disks['raw']}!/"): item for item in walk([disks["raw"]])}
    member = paths["p1/docs/album.zip!/trip/IMG_1003.jpg"]
    assert member.data == content.zipped  # type: ignore[attr-defined]
    assert member.locator is not None
    assert read_locator(member.locator) == content.zipped  # type: ignore[attr-defined]


def test_split_e01_and_raw_give_the_same_items(disks: dict[str, Path]) -> None:
    def digest(items: dict[str, object]) -> dict[str, str | None]:
        return {
            p: hashlib.sha256(i.data).hexdigest() if i.data is not None else None  # type: ignore[attr-defined]
            for p, i in items.items()
        }

    raw = digest(inside(disks["raw"], carve=True))
    assert digest(inside(disks["split"], carve=True)) == raw
    assert digest(inside(disks["one"], carve=True)) == raw
    assert len(list(disks["split"].parent.glob("disk.E0*"))) == 2


def test_gpt_with_exfat_and_ext4(disks: dict[str, Path], content: object) -> None:
    source = DiskImageSource(FolderSource([disks["gpt"]]), Locator.file(disks["gpt"]))
    try:
        layout = source.layout()
        assert layout.table == "GPT"
        assert [v.name for v in layout.volumes] == ["p1", "p2"]
        assert source.file_system(layout.volumes[0]) is not None
    finally:
        source.close()
    items = inside(disks["gpt"])
    assert image_facts(items["p1/$UPCASE_TABLE"].notes)["filesystem"] == "exFAT"
    assert items["p2/pics/IMG_1001.jpg"].data == content.beach  # type: ignore[attr-defined]


def test_carving_finds_what_only_unallocated_space_holds(
    disks: dict[str, Path], content: object
) -> None:
    m = builder()
    items = inside(disks["split"], carve=True)
    fat = (m.P1_START << 20) + m.FAT_FREE_OFFSET
    gap = (m.GAP_START << 20) + 4096
    carved_fat = items[f"p1/$Unallocated!/offset-{fat}.jpg"]
    assert carved_fat.data == content.carved_fat  # type: ignore[attr-defined]
    assert image_facts(carved_fat.notes)["offset"] == fat
    carved_gap = items[f"$Unpartitioned!/offset-{gap}.png"]
    assert carved_gap.data == content.carved_gap  # type: ignore[attr-defined]
    # the deleted picture's clusters are free: carving finds it too
    assert content.deleted in [i.data for p, i in items.items() if "$Unallocated!/" in p]  # type: ignore[attr-defined]
    assert carved_fat.locator is not None
    assert read_locator(carved_fat.locator) == content.carved_fat  # type: ignore[attr-defined]
    assert not any("$Unallocated" in p for p in inside(disks["split"]))  # only when asked


def test_items_reopen_by_locator_in_any_process(disks: dict[str, Path], content: object) -> None:
    items = inside(disks["split"])
    for name, want in (
        ("p1/DCIM/_MG_1002.png", content.deleted),  # type: ignore[attr-defined]
        ("p2/garden.png:hidden", content.hidden),  # type: ignore[attr-defined]
        ("p3/home/todo.txt", content.notes),  # type: ignore[attr-defined]
    ):
        locator = items[name].locator
        assert locator is not None
        assert read_locator(Locator.from_text(locator.to_text())) == want


def test_e01_stored_hashes_verify_and_corruption_is_named(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    raw = disks["raw"].read_bytes()
    good = verify(disks["split"])
    assert good.verdict == "verified"
    assert good.stored["md5"] == hashlib.md5(raw).hexdigest()
    assert good.computed["sha1"] == hashlib.sha1(raw).hexdigest()
    assert len(good.segments) == 2
    bad = tmp_path / "bad.E01"
    shutil.copy(disks["one"], bad)
    with bad.open("r+b") as f:  # inside the compressed chunks, past the headers
        f.seek(bad.stat().st_size // 2)
        f.write(b"\x00" * 256)
    outcome = verify(bad)
    assert outcome.verdict in ("mismatch", "unreadable")
    assert outcome.verdict != "verified"
    assert verify(disks["raw"]).verdict == "no stored hash"


def test_corrupt_and_truncated_images_give_error_items(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.dd"
    data = bytearray(disks["raw"].read_bytes()[: 8 << 20])
    data[(1 << 20) : (1 << 20) + 4096] = os.urandom(4096)  # p1's boot sector destroyed
    corrupt.write_bytes(bytes(data))
    items = inside(corrupt)
    errors = [i.error for i in items.values() if i.error]
    assert any("no file system" in e for e in errors)
    truncated = tmp_path / "cut.E01"
    truncated.write_bytes(disks["split"].read_bytes()[:200_000])
    items = inside(truncated)
    assert [i.kind for i in items.values()] == ["other"]
    assert "cannot read disk image" in next(iter(items.values())).error  # type: ignore[operator]


def test_absurd_sizes_and_split_raw_segments(tmp_path: Path, disks: dict[str, Path]) -> None:
    raw = disks["raw"].read_bytes()
    half = len(raw) // 2
    (tmp_path / "disk.001").write_bytes(raw[:half])
    (tmp_path / "disk.002").write_bytes(raw[half:])
    assert raw_segments(str(tmp_path / "disk.001")) == [
        str(tmp_path / "disk.001"),
        str(tmp_path / "disk.002"),
    ]
    split = {p: i.data for p, i in inside(tmp_path / "disk.001").items()}
    whole = {p: i.data for p, i in inside(disks["raw"]).items()}
    assert split == whole


def test_reading_an_image_changes_nothing(disks: dict[str, Path]) -> None:
    files = [*disks["split"].parent.iterdir(), disks["raw"]]
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    for p in files:  # old atimes: any read that is not O_NOATIME would move them
        os.utime(p, ns=(1_000_000_000_000_000_000, p.stat().st_mtime_ns))
    before = {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in files}
    inside(disks["split"], carve=True)
    inside(disks["raw"], carve=True)
    verify(disks["split"])
    assert {p: (p.stat().st_mtime_ns, p.stat().st_atime_ns) for p in files} == before
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} == digests


def test_a_looping_folder_is_walked_once(disks: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(disks["raw"].read_bytes())
    entry = data.find(b"DCIM       \x10")  # the 8.3 directory entry of /DCIM in p1
    assert entry > 0
    data[entry + 20 : entry + 22] = (0).to_bytes(2, "little")  # first cluster: the root's (2)
    data[entry + 26 : entry + 28] = (2).to_bytes(2, "little")
    looped = tmp_path / "loop.dd"
    looped.write_bytes(bytes(data))
    items = inside(looped)
    assert any("loop" in (i.error or "") for i in items.values())
    assert len(items) < 100


def test_the_e01_chunk_reader_agrees_with_libewf(disks: dict[str, Path]) -> None:
    raw = disks["raw"].read_bytes()
    for name in ("one", "split"):  # compressed (best), and uncompressed in two segments
        reader = open_reader(str(disks[name]), "ewf")
        try:
            assert isinstance(reader, EwfReader) and reader.chunks is not None
            fast = b"".join(reader.read_at(o, 1 << 20) for o in range(0, reader.size, 1 << 20))
            assert fast == raw
            reader.chunks = None  # the same image through libewf alone
            assert reader.read_at(5_000_000, 70_000) == raw[5_000_000:5_070_000]
        finally:
            reader.close()


def test_a_file_claiming_more_than_its_partition_is_an_error_item(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    m = builder()
    data = bytearray(disks["raw"].read_bytes())
    start, size = m.P3_START << 20, m.P3_SIZE << 20
    part = tmp_path / "p3.img"
    part.write_bytes(bytes(data[start : start + size]))
    subprocess.run(
        ["debugfs", "-w", "-R", "sif home/todo.txt size 109951162777600", str(part)],
        check=True, capture_output=True,
    )  # fmt: skip
    data[start : start + size] = part.read_bytes()
    absurd = tmp_path / "absurd.dd"
    absurd.write_bytes(bytes(data))
    item = inside(absurd)["p3/home/todo.txt"]  # 100 TB claimed in a 10 MB partition
    assert item.size == 109951162777600
    assert item.error is not None and "more than its partition holds" in item.error
    assert item.data is None


def test_bare_file_system_deleted_files_recovered_or_named(tmp_path: Path) -> None:
    builder()  # the tools are there
    tree = tmp_path / "tree" / "home"
    tree.mkdir(parents=True)
    (tree / "todo.txt").write_bytes(b"remember the milk\n" * 1000)
    (tree / "keep.txt").write_bytes(b"kept\n")
    image = tmp_path / "bare.ext4"
    with image.open("wb") as f:
        f.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(tmp_path / "tree"), str(image)], check=True)
    subprocess.run(
        ["debugfs", "-w", "-R", "rm home/todo.txt", str(image)], check=True, capture_output=True
    )
    items = inside(image)  # no partition table: paths have no pN/ prefix
    deleted = items["home/todo.txt"]
    assert image_facts(deleted.notes)["deleted"] is True
    assert image_facts(deleted.notes)["partition"] is None
    assert deleted.data == b"remember the milk\n" * 1000  # its extents survive: recovered
    assert items["home/keep.txt"].data == b"kept\n"
    inode = image_facts(deleted.notes)["inode"]
    subprocess.run(  # its extent tree destroyed: not recoverable
        ["debugfs", "-w", "-R", f"sif <{inode}> block[0] 0", str(image)],
        check=True,
        capture_output=True,
    )
    gone = inside(image)["home/todo.txt"]
    assert gone.data is None
    assert gone.error is not None and gone.error.startswith(
        "deleted file: content cannot be recovered"
    )


def test_a_truncated_second_segment_is_an_error_not_a_crash(
    disks: dict[str, Path], tmp_path: Path
) -> None:
    first = tmp_path / "cut.E01"
    shutil.copy(disks["split"], first)
    second = disks["split"].with_suffix(".E02").read_bytes()
    (tmp_path / "cut.E02").write_bytes(second[: len(second) // 3])
    items = inside(first)
    errors = [i.error for i in items.values() if i.error]
    assert errors  # the image, or what lay in the missing part, is an error item
    assert all(isinstance(e, str) and e for e in errors)


def test_an_iso_9660_image(tmp_path: Path) -> None:
    if shutil.which("genisoimage") is None:
        pytest.skip("genisoimage missing (./dev installs it)")
    picture = (REPO / "examples" / "evidence" / "holiday" / "beach.jpg").read_bytes()
    (tmp_path / "src" / "pics").mkdir(parents=True)
    (tmp_path / "src" / "pics" / "beach.jpg").write_bytes(picture)
    iso = tmp_path / "disc.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-o", str(iso), str(tmp_path / "src")], check=True
    )
    with iso.open("rb") as f:
        assert detect_head(f.read(4096), iso.name) == "raw"  # ISO 9660 is told by its name
    item = inside(iso)["pics/beach.jpg"]
    assert item.data == picture
    assert image_facts(item.notes)["filesystem"] == "ISO 9660"
