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
read back by ``image_facts``. Beside this module: ``ewf.py`` (the image's bytes: raw,
split, E01), ``tsk.py`` (layout and reading one file), ``fswalk.py`` (walking one file
system), ``carve.py`` and ``isolate.py`` (the child process the scan parses images in).

Hostile images are bounded here (looping folders, absurd sizes, entry counts) and by
the scan, which parses each image in a separate process with time and memory limits.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
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
from vigil.media.sources.fswalk import FACTS_PREFIX, IMAGE_FIELDS, FsWalker, facts_note, image_facts
from vigil.media.sources.tsk import (
    ImageStream,
    Layout,
    RunStream,
    TskStream,
    Volume,
    attr_size,
    data_attribute,
    direct_runs,
    pytsk3,
    read_layout,
    same_tail,
)

#: Files no larger than this are read into memory while walking; larger ones stream.
MEMORY_BYTES = 64 << 20
UNALLOCATED = "$Unallocated"
UNPARTITIONED = "$Unpartitioned"


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
            self._fs[volume.name] = pytsk3().FS_Info(self._img, offset=volume.offset)
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
        walker = FsWalker(self, fs, volume, prefix, depth)
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
        attr = data_attribute(f, path)
        size = attr_size(f, attr)
        if size > volume.length:
            raise MediaError(
                f"claims {size:,} bytes, more than its partition holds "
                f"({volume.length:,}): not read"
            )
        raw: io.RawIOBase = TskStream(f, attr, size)
        runs = direct_runs(f, attr, size, volume.offset, int(fs.info.block_size))
        if runs is not None and same_tail(raw, runs, self.reader(), size):
            raw = RunStream(self.reader(), runs, size)
        self._streams += 1
        return ImageStream(raw, self._stream_closed)  # type: ignore[return-value]


_CARVED = re.compile(
    rf"^(?:p\d+/)?(?:\{UNALLOCATED}|\{UNPARTITIONED}){re.escape(SEPARATOR)}offset-(?P<offset>\d+)\.\w+$"
)


def _split_volume(layout: Layout, name: str) -> tuple[Volume, str]:
    if len(layout.volumes) == 1 and layout.volumes[0].name == "":
        return layout.volumes[0], name
    head, _, rest = name.partition("/")
    return layout.volume(head), rest


def _read_error(item: EvidenceItem, exc: BaseException) -> str:
    if any(n.startswith(FACTS_PREFIX) and "deleted=true" in n for n in item.notes):
        return f"deleted file: content cannot be recovered ({describe(exc)})"
    return f"read failed: {describe(exc)}"


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


__all__ = [
    "FACTS_PREFIX",
    "IMAGE_FIELDS",
    "DiskImageSource",
    "Layout",
    "Region",
    "Volume",
    "detect_head",
    "facts_note",
    "image_facts",
    "image_header",
    "plan",
]
