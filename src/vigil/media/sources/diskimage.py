"""The container source for disk images: partitions, file systems, deleted files, carving.

A disk image (raw ``dd``, split ``.001 .002 ...``, or EWF ``.E01``, split or not) is
detected from its content (``detect``: the EWF signature, an MBR or GPT, a bare file
system's boot sector or superblock) wherever it is found: named on the command line,
in a folder, or inside an archive. It is read through The Sleuth Kit (``pytsk3``): the
volume system (MBR with its extended partitions, GPT, or none: a bare file system),
then each file system TSK reads (FAT12/16/32, exFAT, NTFS, ext2/3/4, HFS+, ISO 9660).

Items are named ``suspect.E01!/p2/Users/x/a.jpg``: ``p2`` is the second partition
(allocated partitions numbered in the order of the table TSK reads, from 1; a bare file
system has no such prefix). An item's locator step is ``Step("diskimage", "p2/Users/
x/a.jpg", inode)``: the partition and path, and TSK's metadata address, by which it is
opened again. An NTFS alternate data stream is an item of its own, ``a.jpg:stream``.
Files whose name or metadata is marked unallocated are *deleted*: scanned as TSK
recovers them, marked so, and an unrecoverable one is an item with that error.

With carving, the unallocated space of each file system (blocks in no allocated
file's runs) and the space outside every partition is searched for pictures
(``carve.py``); a carved object is ``p2/$Unallocated!/offset-123456789.jpg`` (the
offset is in the image), located by ``Step("diskimage", name, length)``.

What the results need about each item (partition, file system, inode, deleted,
offset) travels in one note, ``disk image: partition=p2 filesystem=NTFS ...``,
read back by ``image_facts``.

Hostile images are bounded here (looping folders, absurd sizes, entry counts) and by
the scan, which parses each image in a separate process with time and memory limits.
"""

from __future__ import annotations

import bisect
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar

from vigil.errors import MediaError, describe
from vigil.media.archives import ArchiveLimits, Budget
from vigil.media.sources import ewf
from vigil.media.sources.base import (
    SEPARATOR,
    EvidenceItem,
    Locator,
    LocatorError,
    Source,
    display_path,
)
from vigil.media.sources.carve import Carved, CarveLimits, carve

#: The read buffer of an item inside an image (large reads: few calls into TSK or the image).
READ_BLOCK = 1 << 20
#: Files no larger than this are read into memory while walking; larger ones stream.
MEMORY_BYTES = 64 << 20
#: Bounds against hostile file systems.
MAX_ENTRIES = 50_000_000
MAX_DIR_DEPTH = 512
UNALLOCATED = "$Unallocated"
UNPARTITIONED = "$Unpartitioned"
FACTS_PREFIX = "disk image: "
#: The results fields of items inside disk images (``image_facts``).
IMAGE_FIELDS = ("deleted", "partition", "filesystem", "inode", "offset")

_FS_NAMES = {
    "FAT12": "FAT12", "FAT16": "FAT16", "FAT32": "FAT32", "EXFAT": "exFAT", "NTFS": "NTFS",
    "EXT2": "ext2", "EXT3": "ext3", "EXT4": "ext4", "HFS": "HFS+", "ISO9660": "ISO 9660",
    "YAFFS2": "YAFFS2", "UFS1": "UFS1", "UFS2": "UFS2", "APFS": "APFS", "FFS1": "UFS1",
}  # fmt: skip


def _tsk() -> Any:
    return ewf._pytsk3()


# -- detection --------------------------------------------------------------------------


def detect_head(head: bytes, name: str = "") -> str | None:
    """``ewf`` or ``raw`` when ``head`` (an item's first 4 KiB) starts a disk image."""
    if ewf.is_ewf(head):
        return "ewf" if ewf.ewf_segment_number(head) in (1, None) else None
    if len(head) < 512 or name.rsplit("/", 1)[-1].startswith("$"):
        return None  # a file system's own metadata ($Boot, $MFTMirr) is not an image
    if head[510:512] == b"\x55\xaa":
        if head[3:11] in (b"NTFS    ", b"EXFAT   "):
            return "raw"
        if _fat_boot(head) or head[512:520] == b"EFI PART" or _mbr(head):
            return "raw"
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef" and _ext_superblock(head):
        return "raw"
    if (
        len(head) >= 1026
        and head[1024:1026] in (b"H+", b"HX")
        and head[1026:1028]
        in (
            b"\x00\x04",
            b"\x00\x05",
        )
    ):
        return "raw"
    if name.lower().endswith(".iso"):
        return "raw"
    return None


def _fat_boot(head: bytes) -> bool:
    if head[0] not in (0xEB, 0xE9):
        return False
    sector = int.from_bytes(head[11:13], "little")
    per_cluster = head[13]
    return (
        sector in (512, 1024, 2048, 4096)
        and per_cluster in (1, 2, 4, 8, 16, 32, 64, 128)
        and head[16] in (1, 2)
        and (head[54:59] in (b"FAT12", b"FAT16", b"FAT  ") or head[82:87] == b"FAT32")
    )


def _mbr(head: bytes) -> bool:
    """A partition table: four sane entries, at least one used (not a FAT/NTFS boot sector)."""
    used = 0
    for i in range(4):
        entry = head[446 + 16 * i : 462 + 16 * i]
        status, kind = entry[0], entry[4]
        start = int.from_bytes(entry[8:12], "little")
        count = int.from_bytes(entry[12:16], "little")
        if status not in (0x00, 0x80):
            return False
        if kind:
            if start == 0 or count == 0:
                return False
            used += 1
    return used > 0


def _ext_superblock(head: bytes) -> bool:
    sb = head[1024:2048]
    log_block = int.from_bytes(sb[24:28], "little")
    return log_block <= 6 and int.from_bytes(sb[4:8], "little") > 0


# -- layout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    """One partition (or the whole image, for a bare file system)."""

    name: str  # "p2", or "" for a bare file system
    offset: int  # bytes from the image's start
    length: int
    description: str


@dataclass
class Layout:
    """How an image is laid out: its partition table, partitions, and unpartitioned space."""

    format: str  # raw or ewf
    size: int
    table: str  # "MBR", "GPT", other TSK names, or "none"
    volumes: list[Volume] = field(default_factory=list)
    unpartitioned: list[tuple[int, int]] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the image's own row."""
        parts = ", ".join(
            f"{v.name} {v.description} at {v.offset:,} ({v.length:,} bytes)" for v in self.volumes
        )
        return f"disk image ({self.format}, {self.size:,} bytes): partition table {self.table}" + (
            f"; {parts}" if parts else ""
        )

    def volume(self, name: str) -> Volume:
        """The volume called ``name``; LocatorError if there is none."""
        for v in self.volumes:
            if v.name == name:
                return v
        raise LocatorError(f"no partition {name!r} in this image")


_TABLES = {"DOS": "MBR", "GPT": "GPT", "MAC": "Apple", "BSD": "BSD", "SUN": "Sun"}


def read_layout(img: Any, fmt: str) -> Layout:
    """Partitions (or a bare file system) as TSK finds them."""
    tsk = _tsk()
    size = int(img.get_size())
    try:
        vs = tsk.Volume_Info(img)
    except OSError:
        return Layout(fmt, size, "none", [Volume("", 0, size, "no partition table")])
    block = int(vs.info.block_size)
    layout = Layout(fmt, size, _enum_name("TSK_VS_TYPE_", int(vs.info.vstype), _TABLES))
    n = 0
    for part in vs:
        start, length = int(part.start) * block, int(part.len) * block
        if part.flags & tsk.TSK_VS_PART_FLAG_ALLOC:
            n += 1
            desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else ""
            layout.volumes.append(Volume(f"p{n}", start, length, desc.strip() or "partition"))
        elif part.flags & tsk.TSK_VS_PART_FLAG_UNALLOC and length:
            layout.unpartitioned.append((start, length))
    return layout


def fs_name(fs: Any) -> str:
    """A file system's type as examiners write it (``NTFS``, ``FAT32``, ``ext4``)."""
    return _enum_name("TSK_FS_TYPE_", int(fs.info.ftype), _FS_NAMES)


def _enum_name(prefix: str, value: int, names: dict[str, str]) -> str:
    tsk = _tsk()
    for key in dir(tsk):
        ok = key.startswith(prefix) and not key.endswith(("_DETECT", "_ENUM"))
        if ok and getattr(tsk, key) == value:
            raw = key[len(prefix) :]
            return names.get(raw, raw)
    return str(value)


# -- the facts an item carries ------------------------------------------------------------


def facts_note(**facts: Any) -> str:
    """The note holding an item's image facts: ``disk image: partition=p2 inode=64 ...``."""
    return FACTS_PREFIX + " ".join(
        f"{k}={str(v).replace(' ', '_')}" for k, v in facts.items() if v is not None
    )


def image_facts(notes: list[str]) -> dict[str, Any]:
    """The fields ``deleted``, ``partition``, ``filesystem``, ``inode``, ``offset`` of an item.

    Read back from its notes (all None for an item not inside a disk image).
    """
    out: dict[str, Any] = dict.fromkeys(IMAGE_FIELDS)
    for note in notes:
        if not note.startswith(FACTS_PREFIX):
            continue
        for pair in note[len(FACTS_PREFIX) :].split():
            key, _, value = pair.partition("=")
            if key == "deleted":
                out["deleted"] = value == "true"
            elif key == "offset":
                out["offset"] = int(value)
            elif key in ("partition", "inode"):
                out[key] = value
            elif key == "filesystem":
                out[key] = value.replace("_", " ")
        if out["deleted"] is None and out["inode"] is not None:
            out["deleted"] = False
    return out


# -- the source --------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """Unallocated (or unpartitioned) space to carve: ``(start, stop, end)`` image offsets.

    Headers are searched in ``[start, stop)``; an object may run on to ``end``, the end
    of its contiguous run (so that a long run can be carved in pieces).
    """

    volume: str  # "p2", "" (bare file system) or UNPARTITIONED
    filesystem: str | None
    extents: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, volume: str, filesystem: str | None, runs: list[tuple[int, int]]) -> Region:
        """The region of whole runs ``(offset, length)``."""
        return cls(volume, filesystem, tuple((o, o + n, o + n) for o, n in runs if n > 0))

    @property
    def size(self) -> int:
        """Bytes to search."""
        return sum(stop - start for start, stop, _ in self.extents)

    @property
    def start(self) -> int:
        """Where the search begins (names the region)."""
        return self.extents[0][0] if self.extents else 0

    def pieces(self, max_bytes: int) -> Iterator[Region]:
        """The region cut into pieces of about ``max_bytes`` of search each."""
        piece: list[tuple[int, int, int]] = []
        load = 0
        for start, stop, end in self.extents:
            while start < stop:
                cut = min(stop, start + max_bytes - load)
                piece.append((start, cut, end))
                load += cut - start
                start = cut
                if load >= max_bytes:
                    yield Region(self.volume, self.filesystem, tuple(piece))
                    piece, load = [], 0
        if piece:
            yield Region(self.volume, self.filesystem, tuple(piece))


class DiskImageSource:
    """The partitions, files and (when asked) carved objects of the disk image at ``at``."""

    kind: ClassVar[str] = "diskimage"

    def __init__(
        self,
        parent: Source,
        at: Locator,
        limits: ArchiveLimits | None = None,
        budget: Budget | None = None,
        shown: str | None = None,
        *,
        image_format: str | None = None,
        carve: bool = False,
        carve_limits: CarveLimits | None = None,
    ) -> None:
        """The image item ``at`` of ``parent``; ``image_format`` forces raw or ewf."""
        self.parent, self.at = parent, at
        self.limits = limits or ArchiveLimits()
        self.shown = shown or at.display()
        self.image_format = image_format
        self.carve = carve
        self.carve_limits = carve_limits or CarveLimits()
        self._reader: ewf.Reader | None = None
        self._img: Any = None
        self._layout: Layout | None = None
        self._fs: dict[str, Any] = {}
        self._format = image_format or "raw"
        self._held = 0  # walks and parts that keep the image open between items
        self._streams = 0  # items opened and not yet closed

    @classmethod
    def detect(cls, head: bytes, name: str) -> bool:
        """Whether content starting with ``head`` is a disk image Vigil reads into."""
        return detect_head(head, name) is not None

    # -- opening ---------------------------------------------------------------------

    def reader(self, stream: BinaryIO | None = None) -> ewf.Reader:
        """The image's media bytes (segments found beside a file on disk)."""
        if self._reader is not None:
            return self._reader
        on_disk = self.at.depth == 0 and self.at.root.kind == "file"
        if on_disk:
            path = self.at.root.name
            fmt = self.image_format or ewf.detect_format(path)
            self._reader = ewf.open_reader(path, fmt)
        else:
            own = stream if stream is not None else self.parent.open(self.at)
            head = own.read(4096)
            own.seek(0)
            fmt = self.image_format or ("ewf" if ewf.is_ewf(head) else "raw")
            self._reader = ewf.stream_reader(own, fmt)
        self._format = fmt
        return self._reader

    def layout(self, stream: BinaryIO | None = None) -> Layout:
        """The partition table and volumes (read once)."""
        if self._layout is None:
            reader = self.reader(stream)
            self._img = ewf.tsk_image(reader)
            self._layout = read_layout(self._img, self._format)
        return self._layout

    def stored_hashes(self) -> dict[str, str]:
        """An E01's stored media hashes (empty for raw images)."""
        reader = self.reader()
        return reader.stored_hashes() if isinstance(reader, ewf.EwfReader) else {}

    def file_system(self, volume: Volume) -> Any:
        """TSK's file system in ``volume`` (opened once); OSError when none is readable."""
        if volume.name not in self._fs:
            self._fs[volume.name] = _tsk().FS_Info(self._img, offset=volume.offset)
        return self._fs[volume.name]

    def hold(self) -> None:
        """Keep the image open between items until ``release`` (a walk, a scan's part)."""
        self._held += 1

    def release(self) -> None:
        """End a ``hold``; the image closes once no item of it is open either."""
        self._held -= 1
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        if self._held <= 0 and self._streams <= 0:
            self.close()

    def _stream_closed(self) -> None:
        self._streams -= 1
        self._close_if_idle()

    def close(self) -> None:
        """Release the image's files."""
        self._fs.clear()
        self._img = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- walking ---------------------------------------------------------------------

    def walk(self, stream: BinaryIO | None = None) -> Iterator[EvidenceItem]:
        """Every item inside, with its content (read as it goes), in a stable order."""
        self.hold()
        try:
            for item in self.entries(stream):
                if isinstance(item, Region):
                    yield from self.carve_region(item)
                    continue
                if item.kind == "file" and item.error is None and item.locator is not None:
                    self._fill(item)
                yield item
        finally:
            self.release()

    def entries(self, stream: BinaryIO | None = None) -> Iterator[EvidenceItem | Region]:
        """Items without content (and, with carving, the regions to carve), in walk order.

        A failure ends in one error item naming what was reached: an image that cannot
        be read at all, or one file system that TSK cannot read, costs only itself.
        """
        depth = self.at.depth + 1
        try:
            layout = self.layout(stream)
        except Exception as exc:
            yield self._error("", f"cannot read disk image: {describe(exc)}", depth)
            return
        for volume in layout.volumes:
            yield from self._volume_entries(volume, depth)
        if self.carve and layout.unpartitioned:
            yield Region.of(UNPARTITIONED, None, layout.unpartitioned)

    def _volume_entries(self, volume: Volume, depth: int) -> Iterator[EvidenceItem | Region]:
        prefix = f"{volume.name}/" if volume.name else ""
        try:
            fs = self.file_system(volume)
        except OSError as exc:
            where = volume.name or "the image"
            yield self._error(
                volume.name,
                f"{where} ({volume.description}): no file system that TSK reads ({exc})",
                depth,
                notes=[facts_note(partition=volume.name or None, offset=volume.offset)],
            )
            if self.carve:
                yield Region.of(volume.name, None, [(volume.offset, volume.length)])
            return
        walker = _FsWalker(self, fs, volume, prefix, depth)
        try:
            yield from walker.walk()
        except Exception as exc:  # TSK on a hostile file system: keep what was listed
            yield self._error(
                volume.name,
                f"file system listing stopped after {walker.count:,} entries: {describe(exc)}",
                depth,
            )
            return
        if self.carve:
            yield Region.of(volume.name, walker.fs_type, list(walker.unallocated()))

    def _error(
        self, volume: str, message: str, depth: int, notes: list[str] | None = None
    ) -> EvidenceItem:
        where = f"{volume}/" if volume else ""
        return EvidenceItem(
            path=f"{self.shown}{SEPARATOR}{where}",
            container=self.shown,
            depth=depth,
            kind="other",
            error=message,
            notes=notes or [],
        )

    def _fill(self, item: EvidenceItem) -> None:
        """Read an item's content for ``walk``: in memory, or as a stream when large."""
        assert item.locator is not None
        try:
            stream = self.open(item.locator)
            if (item.size or 0) > MEMORY_BYTES:
                item.stream = stream
                return
            with stream:
                item.data = stream.read()
        except (MediaError, OSError) as exc:
            item.error = _read_error(item, exc)

    def carve_region(self, region: Region) -> Iterator[EvidenceItem]:
        """Carved objects of one region, with their content (bounded by the carve limits)."""
        reader = self.reader()
        for start, stop, end in region.extents:
            for found in carve(reader.read_at, start, end, self.carve_limits, stop):
                item = self.carved_item(region, found)
                try:
                    item.data = reader.read_at(found.offset, found.length)
                except OSError as exc:
                    item.error = f"cannot read carved object: {describe(exc)}"
                yield item

    def region_item(self, region: Region) -> EvidenceItem:
        """The row of one carved region: what was searched (no content, no locator)."""
        area = UNALLOCATED if region.volume != UNPARTITIONED else UNPARTITIONED
        prefix = f"{region.volume}/" if region.volume and region.volume != UNPARTITIONED else ""
        return EvidenceItem(
            path=f"{self.shown}{SEPARATOR}{prefix}{area}@{region.start}",
            container=self.shown,
            depth=self.at.depth + 1,
            kind="unallocated space",
            size=region.size,
            notes=[
                facts_note(
                    partition=region.volume if region.volume not in ("", UNPARTITIONED) else None,
                    filesystem=region.filesystem,
                    offset=region.start,
                ),
                f"carved: {len(region.extents):,} runs, {region.size:,} bytes searched",
            ],
        )

    def carved_item(self, region: Region, found: Carved) -> EvidenceItem:
        """The item of one carved object (content not read)."""
        area = UNALLOCATED if region.volume != UNPARTITIONED else UNPARTITIONED
        prefix = f"{region.volume}/" if region.volume and region.volume != UNPARTITIONED else ""
        name = f"{prefix}{area}{SEPARATOR}{found.name}"
        notes = [
            facts_note(
                partition=region.volume if region.volume not in ("", UNPARTITIONED) else None,
                filesystem=region.filesystem,
                offset=found.offset,
                carved=found.kind,
                deleted="true",
            )
        ]
        if found.truncated:
            notes.append("carved object is truncated: its end was not found in this run")
        return EvidenceItem(
            path=f"{self.shown}{SEPARATOR}{name}",
            container=f"{self.shown}{SEPARATOR}{prefix}{area}",
            depth=self.at.depth + 1,
            kind="file",
            size=found.length,
            notes=notes,
            locator=self.at.child(self.kind, name, found.length),
        )

    # -- opening one item ------------------------------------------------------------

    def open(self, locator: Locator) -> BinaryIO:
        """One item's content, read-only and seekable, read from the image in large blocks.

        The image stays open while the stream is (or while the source is held).
        """
        step = locator.steps[-1]
        if locator.parent != self.at or step.kind != self.kind or step.index is None:
            raise LocatorError(f"not an item of {self.shown}: {locator.display()}")
        try:
            return self._open(step.name, step.index)
        finally:
            self._close_if_idle()

    def _open(self, name: str, index: int) -> BinaryIO:
        layout = self.layout()
        carved = _CARVED.match(name)
        if carved:
            offset = int(carved["offset"])
            if offset + index > layout.size:
                raise MediaError("carved object lies past the image's end")
            return io.BytesIO(self.reader().read_at(offset, index))
        volume, path = _split_volume(layout, name)
        try:
            fs = self.file_system(volume)
            f = fs.open_meta(inode=index)
        except OSError as exc:
            raise MediaError(f"cannot open {display_path(name)}: {exc}") from exc
        attr = _data_attribute(f, path)
        size = _attr_size(f, attr)
        if size > volume.length:
            raise MediaError(
                f"claims {size:,} bytes, more than its partition holds "
                f"({volume.length:,}): not read"
            )
        raw: io.RawIOBase = _TskStream(f, attr, size)
        runs = _direct_runs(f, attr, size, volume.offset, int(fs.info.block_size))
        if runs is not None and _same_tail(raw, runs, self.reader(), size):
            raw = _RunStream(self.reader(), runs, size)
        self._streams += 1
        return _ImageStream(raw, self._stream_closed)  # type: ignore[return-value]


_Run = tuple[
    int, int | None, int
]  # (offset in the file, offset in the image or None: zeros, length)


def _direct_runs(f: Any, attr: Any, size: int, base: int, block: int) -> list[_Run] | None:
    """Where an allocated, plain attribute's bytes lie in the image, to read them directly.

    TSK reads a file through one Python callback per run and copies it twice; reading
    the runs straight from the image is several times faster. Only for what TSK would
    read as stored: a non-resident attribute, not compressed or encrypted, every run
    known (None otherwise: TSK reads it, deleted files included).
    """
    tsk = _tsk()
    meta = f.info.meta
    if meta is None or meta.flags & tsk.TSK_FS_META_FLAG_UNALLOC or size <= 0:
        return None
    if attr is None:
        plain = [a for a in f if _is_default_data(a, size, tsk)]
        if len(plain) != 1:
            return None
        attr = plain[0]
    flags = int(attr.info.flags)
    if not flags & tsk.TSK_FS_ATTR_NONRES or flags & (tsk.TSK_FS_ATTR_COMP | tsk.TSK_FS_ATTR_ENC):
        return None
    runs: list[_Run] = []
    for run in attr:
        if run.flags & (tsk.TSK_FS_ATTR_RUN_FLAG_FILLER | tsk.TSK_FS_ATTR_RUN_FLAG_ENCRYPTED):
            return None
        start = int(run.offset) * block
        if start >= size:
            break
        length = min(int(run.len) * block, size - start)
        sparse = bool(run.flags & tsk.TSK_FS_ATTR_RUN_FLAG_SPARSE)
        runs.append((start, None if sparse else base + int(run.addr) * block, length))
    covered = 0
    for start, _, length in runs:
        if start != covered:
            return None
        covered += length
    return runs if covered == size else None


def _is_default_data(attr: Any, size: int, tsk: Any) -> bool:
    if attr.info.name or int(attr.info.size) != size:
        return False
    return int(attr.info.type) in (
        tsk.TSK_FS_ATTR_TYPE_DEFAULT,
        tsk.TSK_FS_ATTR_TYPE_NTFS_DATA,
        getattr(tsk, "TSK_FS_ATTR_TYPE_UNIX_DATA", -1),
        getattr(tsk, "TSK_FS_ATTR_TYPE_UNIX_EXTENT", -1),
        getattr(tsk, "TSK_FS_ATTR_TYPE_HFS_DATA", -1),
    )


def _same_tail(tsk_stream: io.RawIOBase, runs: list[_Run], reader: ewf.Reader, size: int) -> bool:
    """Whether the runs give what TSK gives at the file's end.

    NTFS reads an uninitialised tail as zeros: a mismatch sends the file back through TSK.
    """
    n = min(size, 4096)
    tsk_stream.seek(size - n)
    want = tsk_stream.read(n)
    direct = _RunStream(reader, runs, size)
    direct.seek(size - n)
    return direct.read(n) == want


class _RunStream(io.RawIOBase):
    """A file read straight from the image by its runs (``readinto`` without copies)."""

    def __init__(self, reader: ewf.Reader, runs: list[_Run], size: int) -> None:
        self._reader, self._runs, self._size, self._pos = reader, runs, size, 0
        self._starts = [start for start, _, _ in runs]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        start, at, length = self._runs[i]
        inner = self._pos - start
        n = min(want, length - inner)
        if at is None:
            view[:n] = bytes(n)
        else:
            n = self._reader.readinto_at(view[:n], at + inner)
            if n <= 0:
                raise OSError(f"the image ends before this file's data ({self._pos:,})")
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos


class _ImageStream(io.BufferedReader):
    """An item's stream that tells its source when it is closed (so the image can close)."""

    def __init__(self, raw: io.RawIOBase, on_close: Any) -> None:
        super().__init__(raw, READ_BLOCK)
        self._on_close = on_close

    def close(self) -> None:
        if not self.closed:
            super().close()
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


_CARVED = re.compile(
    rf"^(?:p\d+/)?(?:\{UNALLOCATED}|\{UNPARTITIONED}){re.escape(SEPARATOR)}offset-(?P<offset>\d+)\.\w+$"
)


def _split_volume(layout: Layout, name: str) -> tuple[Volume, str]:
    if len(layout.volumes) == 1 and layout.volumes[0].name == "":
        return layout.volumes[0], name
    head, _, rest = name.partition("/")
    return layout.volume(head), rest


def _data_attribute(f: Any, path: str) -> Any:
    """The NTFS alternate data stream ``path`` names (``a.jpg:stream``), else None (default)."""
    leaf = path.rsplit("/", 1)[-1]
    if ":" not in leaf:
        return None
    stream = leaf.rsplit(":", 1)[1].encode("utf-8", "surrogateescape")
    tsk = _tsk()
    for attr in f:
        if attr.info.type == tsk.TSK_FS_ATTR_TYPE_NTFS_DATA and attr.info.name == stream:
            return attr
    return None


def _attr_size(f: Any, attr: Any) -> int:
    if attr is not None:
        return int(attr.info.size)
    meta = f.info.meta
    return int(meta.size) if meta is not None else 0


def _read_error(item: EvidenceItem, exc: BaseException) -> str:
    if any(n.startswith(FACTS_PREFIX) and "deleted=true" in n for n in item.notes):
        return f"deleted file: content cannot be recovered ({describe(exc)})"
    return f"read failed: {describe(exc)}"


class _TskStream(io.RawIOBase):
    """A file's data attribute, read through TSK (which recovers deleted content)."""

    def __init__(self, f: Any, attr: Any, size: int) -> None:
        self._f, self._size, self._pos = f, size, 0
        self._args: tuple[Any, ...] = () if attr is None else (attr.info.type, attr.info.id)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        try:
            chunk = self._f.read_random(self._pos, n, *self._args)
        except OSError as exc:
            raise OSError(f"TSK read failed at {self._pos:,}: {exc}") from exc
        if not chunk:
            raise OSError(f"TSK returned no data at {self._pos:,} of {self._size:,} bytes")
        got = len(chunk)
        buffer[:got] = chunk
        self._pos += got
        return got

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos


class _FsWalker:
    """One file system's entries in tree order, with loop and size bounds."""

    def __init__(
        self, source: DiskImageSource, fs: Any, volume: Volume, prefix: str, depth: int
    ) -> None:
        self.source, self.fs, self.volume, self.prefix, self.depth = (
            source,
            fs,
            volume,
            prefix,
            depth,
        )
        self.fs_type = fs_name(fs)
        self.count = 0
        self.tsk = _tsk()
        self.block = int(fs.info.block_size)
        self.blocks = int(fs.info.block_count)
        self.allocated: list[tuple[int, int]] = []
        self.seen_dirs: set[int] = set()

    def walk(self) -> Iterator[EvidenceItem]:
        """Every entry from the root folder down."""
        root = self.fs.open_dir(inode=int(self.fs.info.root_inum))
        yield from self._dir(root, "", frozenset({int(self.fs.info.root_inum)}), 0, False)

    def _dir(
        self, directory: Any, path: str, ancestors: frozenset[int], level: int, deleted: bool
    ) -> Iterator[EvidenceItem]:
        tsk = self.tsk
        entries = []
        for entry in directory:
            name = entry.info.name
            if name is None:
                continue
            raw = name.name
            if raw in (b".", b".."):
                continue
            entries.append(entry)
        for entry in entries:
            self.count += 1
            if self.count > MAX_ENTRIES:
                raise MediaError(f"more than {MAX_ENTRIES:,} entries: a hostile file system?")
            name_info = entry.info.name
            leaf = name_info.name.decode("utf-8", "surrogateescape")
            meta = entry.info.meta
            gone = deleted or bool(name_info.flags & tsk.TSK_FS_NAME_FLAG_UNALLOC)
            child = f"{path}{leaf}"
            if meta is None:
                if gone and not deleted:  # a deleted name in a folder, its metadata gone
                    yield self._item(
                        child, None, "file", gone, error="deleted: its metadata is gone"
                    )
                continue  # orphan entries without metadata hold nothing to scan
            mtype = meta.type
            addr = int(meta.addr)
            meta_gone = bool(meta.flags & tsk.TSK_FS_META_FLAG_UNALLOC)
            if gone and not meta_gone and mtype == tsk.TSK_FS_META_TYPE_REG:
                yield self._item(
                    child, entry, "file", True,
                    error="deleted: its metadata entry now belongs to another file",
                )  # fmt: skip
                continue
            gone = gone or meta_gone
            if mtype in (tsk.TSK_FS_META_TYPE_DIR, tsk.TSK_FS_META_TYPE_VIRT_DIR):
                orphans = mtype == tsk.TSK_FS_META_TYPE_VIRT_DIR
                if not gone:
                    self._runs(entry)
                if addr in ancestors or addr in self.seen_dirs:
                    yield self._item(
                        child, entry, "directory", gone, error="folder loop: not walked again"
                    )
                    continue
                if level + 1 > MAX_DIR_DEPTH:
                    yield self._item(
                        child, entry, "directory", gone, error="folders nested too deep"
                    )
                    continue
                self.seen_dirs.add(addr)
                try:
                    sub = entry.as_directory()
                except OSError as exc:
                    if not gone:
                        yield self._item(
                            child, entry, "directory", gone, error=f"cannot list folder: {exc}"
                        )
                    continue
                yield from self._dir(
                    sub, child + "/", ancestors | {addr}, level + 1, gone or orphans
                )
            elif mtype == tsk.TSK_FS_META_TYPE_REG:
                if int(meta.size) == 0 and leaf.endswith("(Volume Label Entry)"):
                    continue  # TSK's view of a FAT/exFAT volume label
                if int(meta.size) == 0 and self.fs_type == "NTFS" and leaf.startswith("$"):
                    continue  # NTFS metadata whose content is not in a $DATA stream
                if gone and int(meta.size) == 0:
                    continue  # an empty deleted or orphan entry holds nothing to scan
                if not gone:
                    self._runs(entry)
                yield from self._file_items(child, entry, gone)
            elif mtype == tsk.TSK_FS_META_TYPE_VIRT:
                continue  # TSK's own views ($MBR, $FAT1): not files of the evidence
            else:
                kind = {
                    tsk.TSK_FS_META_TYPE_LNK: "symlink",
                    tsk.TSK_FS_META_TYPE_FIFO: "fifo",
                    tsk.TSK_FS_META_TYPE_SOCK: "socket",
                    tsk.TSK_FS_META_TYPE_CHR: "character device",
                    tsk.TSK_FS_META_TYPE_BLK: "block device",
                }.get(mtype, "other")
                item = self._item(child, entry, kind, gone)
                item.notes.append(f"{kind}: recorded, not read")
                yield item

    def _file_items(self, path: str, entry: Any, deleted: bool) -> Iterator[EvidenceItem]:
        tsk = self.tsk
        yield self._item(path, entry, "file", deleted)
        if self.fs_type != "NTFS":
            return
        for attr in entry:
            if attr.info.type == tsk.TSK_FS_ATTR_TYPE_NTFS_DATA and attr.info.name:
                stream = attr.info.name.decode("utf-8", "surrogateescape")
                if stream == "$Bad":
                    continue
                item = self._item(
                    f"{path}:{stream}", entry, "file", deleted, size=int(attr.info.size)
                )
                item.notes.append("NTFS alternate data stream")
                yield item

    def _item(
        self,
        path: str,
        entry: Any,
        kind: str,
        deleted: bool,
        *,
        error: str | None = None,
        size: int | None = None,
    ) -> EvidenceItem:
        meta = entry.info.meta if entry is not None else None
        name = f"{self.prefix}{path}"
        addr = int(meta.addr) if meta is not None else None
        item = EvidenceItem(
            path=f"{self.source.shown}{SEPARATOR}{display_path(name)}",
            container=self.source.shown,
            depth=self.depth,
            kind=kind,
            size=(size if size is not None else int(meta.size))
            if meta is not None and kind == "file"
            else None,
            mtime=_time(meta, "mtime"),
            ctime=_time(meta, "ctime"),
            atime=_time(meta, "atime"),
            error=error,
            notes=[
                facts_note(
                    partition=self.volume.name or None,
                    filesystem=self.fs_type,
                    inode=addr,
                    deleted="true" if deleted else None,
                )
            ],
            locator=self.source.at.child(DiskImageSource.kind, name, addr)
            if addr is not None and error is None and kind == "file"
            else None,
        )
        if display_path(name) != name:
            item.notes.append("file name is not valid UTF-8: shown with \\x escapes")
        if deleted:
            item.notes.append("deleted file: content as The Sleuth Kit recovers it")
        if item.size is not None and item.size > self.volume.length and item.error is None:
            item.error = (
                f"claims {item.size:,} bytes, more than its partition holds "
                f"({self.volume.length:,}): not read"
            )
            item.locator = None
        return item

    def _runs(self, entry: Any) -> None:
        """Remember the blocks an allocated file or folder occupies (for carving)."""
        if not self.source.carve:
            return
        tsk = self.tsk
        for attr in entry:
            if not attr.info.flags & tsk.TSK_FS_ATTR_NONRES:
                continue
            for run in attr:
                if run.flags & (tsk.TSK_FS_ATTR_RUN_FLAG_SPARSE | tsk.TSK_FS_ATTR_RUN_FLAG_FILLER):
                    continue
                self.allocated.append((int(run.addr), int(run.len)))

    def unallocated(self) -> Iterator[tuple[int, int]]:
        """Image extents (offset, length) of blocks in no allocated file or folder."""
        base = self.volume.offset
        pos = 0
        for start, length in sorted(self.allocated):
            if start > pos:
                yield base + pos * self.block, (min(start, self.blocks) - pos) * self.block
            pos = max(pos, start + length)
            if pos >= self.blocks:
                return
        if pos < self.blocks:
            yield base + pos * self.block, (self.blocks - pos) * self.block


def _time(meta: Any, name: str) -> float | None:
    if meta is None:
        return None
    value = getattr(meta, name, 0)
    if not value:
        return None
    nano = getattr(meta, f"{name}_nano", 0) or 0
    return float(value) + nano / 1e9


# -- planning a scan inside an image (run in a child process by the scan) ---------------


def image_header(source: DiskImageSource) -> dict[str, Any]:
    """What the image's own row says: layout, stored hashes, acquisition data, segments."""
    layout = source.layout()
    reader = source.reader()
    header: dict[str, Any] = {"format": layout.format, "layout": layout.describe(), "hashes": {}}
    if isinstance(reader, ewf.EwfReader):
        header["hashes"] = reader.stored_hashes()
        header["acquisition"] = reader.headers()
    if source.at.depth == 0 and source.at.root.kind == "file":
        header["segments"] = ewf.segments(source.at.root.name, layout.format)
    return header


def plan(source: DiskImageSource, carve_piece_bytes: int = 256 << 20) -> Iterator[Any]:
    """The image's header, then its items (no content) and carve regions in pieces."""
    yield image_header(source)
    for entry in source.entries():
        if isinstance(entry, Region):
            yield from entry.pieces(carve_piece_bytes)
        else:
            yield entry
