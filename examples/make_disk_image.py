"""Build small disk images of benign, generated pictures: raw (``.dd``) and split E01.

Used by the tests (``tests/media/test_diskimage*.py``, ``tests/scan/test_image_scan*.py``)
and to rebuild the bundled example ``examples/evidence/drive/usb.E01``. No root, no
loop devices and no mounting: every file system is made in a file of its own with the
Debian tools (``mkfs.vfat`` + ``mtools``, ``mkfs.ntfs`` + ``ntfscp``, ``mkfs.ext4 -d``,
``mkfs.exfat``), given files, and copied into place in a disk laid out by ``sfdisk``
(MBR with an extended partition) or ``sgdisk`` (GPT). ``ewfacquire`` (``ewf-tools``)
turns the raw disk into an E01, split into segments when asked.

The MBR disk holds what the tests need to find:

- p1 FAT32: ``DCIM/IMG_1001.jpg``, ``docs/album.zip`` (an archive inside the image), and a
  *deleted* picture ``DCIM/IMG_1002.png`` (its directory entry marked free, its clusters
  intact: TSK recovers it), and a JPEG written only into free clusters (carving);
- p2 NTFS: ``garden.png`` with an alternate data stream ``garden.png:hidden``;
- p3 (a logical partition in the extended one) ext4: ``home/todo.txt``;
- a PNG in the unpartitioned gap between p1 and p2 (carving of unpartitioned space).

Run ``python examples/make_disk_image.py`` to rebuild the bundled example E01.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

MIB = 1 << 20
SECTOR = 512
#: Where each piece goes on the MBR disk, in MiB.
P1_START, P1_SIZE = 1, 40  # FAT32
GAP_START = 41  # unpartitioned: 41..42 MiB
P2_START, P2_SIZE = 42, 16  # NTFS
EXT_START, EXT_SIZE = 59, 12  # extended partition
P3_START, P3_SIZE = 60, 10  # logical ext4
DISK_SIZE = 72
#: Offset (inside p1) where the carve-only JPEG is written: free clusters near its end.
FAT_FREE_OFFSET = (P1_SIZE - 2) * MIB


def picture(seed: int, fmt: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A benign generated picture (noise, bands and circles) encoded as ``fmt``."""
    rng = np.random.default_rng(seed)
    width, height = size
    base = rng.integers(0, 255, size=(height // 8, width // 8, 3), dtype=np.uint8)
    image = Image.fromarray(base).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        r = int(rng.integers(15, 60))
        draw.ellipse((x, y, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


@dataclass(frozen=True)
class DiskContent:
    """The files of the MBR test disk, by role (the tests look them up here)."""

    beach: bytes
    deleted: bytes
    carved_fat: bytes
    carved_gap: bytes
    sunset: bytes
    hidden: bytes
    notes: bytes
    zipped: bytes  # the picture inside docs/photos.zip

    @classmethod
    def make(cls, size: tuple[int, int] = (320, 240)) -> DiskContent:
        """The fixed content (same bytes on every run); pictures of ``size`` pixels."""
        return cls(
            beach=picture(1, "JPEG", size),
            deleted=picture(2, "PNG", size),
            carved_fat=picture(3, "JPEG", size),
            carved_gap=picture(4, "PNG", size),
            sunset=picture(5, "PNG", size),
            hidden=picture(6, "JPEG", (200, 150)),
            notes=b"Meeting at noon.\n",
            zipped=picture(7, "JPEG", (160, 120)),
        )


def _run(*args: str | Path, stdin: str | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, input=stdin, text=True)


def _fat32(path: Path, content: DiskContent, work: Path) -> None:
    with path.open("wb") as f:
        f.truncate(P1_SIZE * MIB)
    _run(
        "mkfs.vfat",
        "-F",
        "32",
        "-s",
        "1",
        "-n",
        "CAMERA",
        "-h",
        str(P1_START * MIB // SECTOR),
        path,
    )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("trip/IMG_1003.jpg", content.zipped)
    for name, data in {
        "IMG_1001.jpg": content.beach,
        "IMG_1002.png": content.deleted,
        "album.zip": zipped.getvalue(),
    }.items():
        (work / name).write_bytes(data)
    image = f"{path}"
    _run("mmd", "-i", image, "::/DCIM", "::/docs")
    _run("mcopy", "-i", image, work / "IMG_1001.jpg", "::/DCIM/IMG_1001.jpg")
    _run("mcopy", "-i", image, work / "IMG_1002.png", "::/DCIM/IMG_1002.png")
    _run("mcopy", "-i", image, work / "album.zip", "::/docs/album.zip")
    _run("mdel", "-i", image, "::/DCIM/IMG_1002.png")
    with path.open("r+b") as f:  # a picture in free clusters only: found by carving
        f.seek(FAT_FREE_OFFSET)
        f.write(content.carved_fat)


def _ntfs(path: Path, content: DiskContent, work: Path) -> None:
    with path.open("wb") as f:
        f.truncate(P2_SIZE * MIB)
    _run("mkfs.ntfs", "-F", "-Q", "-q", "-L", "DATA", "-p", str(P2_START * MIB // SECTOR), path)
    (work / "garden.png").write_bytes(content.sunset)
    (work / "hidden.jpg").write_bytes(content.hidden)
    _run("ntfscp", "-f", path, work / "garden.png", "/garden.png")
    _run("ntfscp", "-f", "-N", "hidden", path, work / "hidden.jpg", "/garden.png")
    # ntfscp writes into the root only: move with ntfs-3g's ntfsmove where present; the
    # root is enough for the tests, and the folder is shown by the ext4 and FAT ones.


def _ext4(path: Path, content: DiskContent, work: Path) -> None:
    tree = work / "ext4"
    (tree / "home").mkdir(parents=True)
    (tree / "home" / "todo.txt").write_bytes(content.notes)
    with path.open("wb") as f:
        f.truncate(P3_SIZE * MIB)
    _run("mkfs.ext4", "-q", "-F", "-L", "HOME", "-d", tree, path)


def _place(disk: Path, part: Path, start_mib: int) -> None:
    with disk.open("r+b") as out, part.open("rb") as src:
        out.seek(start_mib * MIB)
        shutil.copyfileobj(src, out, MIB)


def build_mbr_disk(target: Path, content: DiskContent | None = None) -> Path:
    """The raw MBR test disk at ``target`` (see the module docstring); returns ``target``."""
    content = content or DiskContent.make()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with target.open("wb") as f:
            f.truncate(DISK_SIZE * MIB)
        s = MIB // SECTOR
        table = (
            "label: dos\n"
            f"start={P1_START * s}, size={P1_SIZE * s}, type=c\n"
            f"start={P2_START * s}, size={P2_SIZE * s}, type=7\n"
            f"start={EXT_START * s}, size={EXT_SIZE * s}, type=5\n"
            f"start={P3_START * s}, size={P3_SIZE * s}, type=83\n"
        )
        _run("sfdisk", "-q", target, stdin=table)
        for build, name, start in (
            (_fat32, "fat.img", P1_START),
            (_ntfs, "ntfs.img", P2_START),
            (_ext4, "ext4.img", P3_START),
        ):
            part = work / name
            build(part, content, work)
            _place(target, part, start)
        with target.open("r+b") as f:
            f.seek(GAP_START * MIB + 4096)
            f.write(content.carved_gap)
    return target


def build_gpt_disk(target: Path, content: DiskContent | None = None) -> Path:
    """A GPT disk: p1 exFAT (empty: no userspace tool fills one), p2 ext4 with a picture."""
    content = content or DiskContent.make()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with target.open("wb") as f:
            f.truncate(24 * MIB)
        _run(
            "sgdisk",
            "-o",
            "-n",
            "1:2048:+8M",
            "-t",
            "1:0700",
            "-n",
            "2:0:+12M",
            "-t",
            "2:8300",
            target,
        )
        exfat = work / "exfat.img"
        with exfat.open("wb") as f:
            f.truncate(8 * MIB)
        _run("mkfs.exfat", "-L", "CARD", exfat)
        _place(target, exfat, 1)
        tree = work / "tree"
        (tree / "pics").mkdir(parents=True)
        (tree / "pics" / "IMG_1001.jpg").write_bytes(content.beach)
        ext4 = work / "ext4.img"
        with ext4.open("wb") as f:
            f.truncate(12 * MIB)
        _run("mkfs.ext4", "-q", "-F", "-d", tree, ext4)
        _place(target, ext4, 9)
    return target


def to_e01(raw: Path, target_base: Path, segment_bytes: int | None = None) -> Path:
    """``raw`` as EWF at ``target_base``.E01 (split at ``segment_bytes``): the first segment."""
    args: list[str | Path] = ["ewfacquire", "-u", "-q", "-t", target_base, "-f", "encase6"]
    args += ["-c", "none" if segment_bytes else "best", "-d", "sha1"]
    args += ["-C", "case 1", "-D", "test disk", "-E", "1", "-e", "examiner", "-N", "generated"]
    if segment_bytes:
        args += ["-S", str(segment_bytes)]
    _run(*args, raw)
    return target_base.with_name(target_base.name + ".E01")


def main() -> None:
    """Rebuild the example E01 under examples/evidence/drive/."""
    here = Path(__file__).resolve().parent
    target = here / "evidence" / "drive"
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = build_mbr_disk(Path(tmp) / "usb.dd", example_content())
        for old in target.glob("usb.E*"):
            old.unlink()
        to_e01(raw, target / "usb")


def example_content() -> DiskContent:
    """The example disk: small pictures, none of them in the example hash set.

    The main job (``./dev example``) lists the image's partitions, its files, a deleted
    picture and an NTFS stream; its matches stay those of the files on disk. (To see a
    deleted file match, put ``evidence/holiday/beach.jpg`` in as ``deleted``.)
    """
    return DiskContent.make((128, 96))  # small pictures: a small committed image


if __name__ == "__main__":
    main()
