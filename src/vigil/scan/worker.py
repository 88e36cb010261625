"""Scan work for one unit: a top-level item, hashed, and every item inside it (archive members).

This is the function a worker process runs (``scan_unit``). It is a plain, picklable
function of picklable arguments, so any ``concurrent.futures.Executor`` can run it: a
local process pool today, a cluster's executor later. It opens evidence only through
its source (``vigil.media.sources``: the item's locator), read-only, never by path, and
returns rows; it writes nothing, so running it twice is harmless.

A disk image is split into smaller units (``vigil.scan.engine`` plans them): its own
row (``ImageFile``: layout and stored hashes, not hashed whole), the later segments
of a split image (``ImageSegment``: recorded, read through the first), and runs of
its items and carve regions (``ImagePart``). An image part is read in a child process
under ``ImageLimits`` (``vigil.media.sources.isolate``): if The Sleuth Kit or libewf
crashes or hangs on an item, that item gets the error and the rest of the part is
read by a fresh child.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from vigil.errors import VigilError
from vigil.media.archives import ArchiveLimits
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.media.sources.base import EvidenceItem, Locator, Source
from vigil.media.sources.diskimage import DiskImageSource, Region, detect_head
from vigil.media.sources.folder import FolderSource
from vigil.media.sources.isolate import ChildFailedError, in_child
from vigil.media.sources.registry import expand_item, source_for
from vigil.records import ScanItem
from vigil.signals.filehash import (
    FileHashes,
    HashOptions,
    KnownTest,
    hash_content,
    hash_file,
    hash_stream,
)


@dataclass(frozen=True)
class ImageLimits:
    """How disk images are split into units and bounded while they are read."""

    idle_seconds: float = 300.0  # a reader process silent this long is stopped (a hang)
    memory_bytes: int = 4 << 30  # what a reader process may add to its address space
    unit_items: int = 256  # items of one image per unit of work (and of resume)
    unit_bytes: int = 128 << 20  # bytes of one image per unit of work
    carve_piece_bytes: int = 256 << 20  # unallocated space searched per unit


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: hashing options, archive limits, the known-file test, disk images."""

    hashing: HashOptions = field(default_factory=HashOptions)
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    known: KnownTest | None = None
    image_format: str | None = None  # raw or ewf: forced for files named as evidence
    carve: bool = False  # carve pictures out of disk images' unallocated space
    images: ImageLimits = field(default_factory=ImageLimits)


@dataclass
class ImageFile:
    """A disk image's own row: its layout, stored hashes and segments (not hashed whole).

    ``header`` comes from planning (``diskimage.image_header``); ``error`` when the image
    could not be read at all.
    """

    entry: EvidenceItem
    header: dict[str, Any] | None = None
    error: str | None = None

    @property
    def path(self) -> str:
        """The image's display path."""
        return self.entry.path

    @property
    def locator(self) -> Locator | None:
        """The image's locator."""
        return self.entry.locator

    @property
    def size(self) -> int | None:
        """The image file's size."""
        return self.entry.size

    @property
    def mtime(self) -> float | None:
        """The image file's mtime."""
        return self.entry.mtime


@dataclass
class ImageSegment(ImageFile):
    """A later segment of a split image (``.E02``, ``.002``): read through the first."""

    first: str = ""


@dataclass
class ImagePart:
    """A run of items (or a carve region) of one disk image: a unit of work and of resume.

    ``head`` names the unit (its key is ``head``'s display path; its stamp is
    ``head``'s size and mtime, the first row's).
    """

    image: EvidenceItem
    format: str
    items: list[EvidenceItem | Region]
    head: EvidenceItem
    #: The unit's key: ``head``'s display path, made unique within the image (a deleted
    #: and a live file may share a name) with `` #2``, `` #3``...
    key: str = ""

    @property
    def path(self) -> str:
        """The first item's display path."""
        return self.head.path

    @property
    def locator(self) -> Locator | None:
        """The first item's locator."""
        return self.head.locator

    @property
    def size(self) -> int | None:
        """The first item's size."""
        return self.head.size

    @property
    def mtime(self) -> float | None:
        """The first item's mtime."""
        return self.head.mtime

    @property
    def weight(self) -> int:
        """Bytes to read, for batching."""
        return sum((i.size or 0) if isinstance(i, EvidenceItem) else i.size for i in self.items)


Unit = EvidenceItem | ImageFile | ImagePart
_IMAGE_TYPES = {"ewf": "application/x-ewf", "raw": "application/x-raw-disk-image"}


def scan_unit(unit: Unit, options: ScanOptions, key: str) -> list[ScanItem]:
    """Rows for one unit of any kind (what a worker runs)."""
    if isinstance(unit, ImageSegment):
        row = item_from_entry(unit.entry, key)
        row.kind = "disk image segment"
        row.notes.append(f"segment of the disk image {unit.first}: read as part of it")
        return [row]
    if isinstance(unit, ImageFile):
        return [image_row(unit, key)]
    if isinstance(unit, ImagePart):
        return scan_image_part(unit, options, key)
    return scan_source(unit, options, source=key)


def image_row(unit: ImageFile, key: str) -> ScanItem:
    """The image's own row: what it is and what its acquisition stored."""
    row = item_from_entry(unit.entry, key)
    row.kind = "disk image"
    header = unit.header or {}
    if header:
        row.type = _IMAGE_TYPES.get(str(header.get("format")))
        row.notes.append(str(header.get("layout")))
        for name, value in sorted(header.get("hashes", {}).items()):
            row.notes.append(
                f"stored {name.upper()} of the media: {value} (vigil verify-image checks it)"
            )
        segments = header.get("segments") or []
        if len(segments) > 1:
            row.notes.append(f"split image: {len(segments)} segments")
        for name, value in sorted(header.get("acquisition", {}).items()):
            row.notes.append(f"acquisition {name}: {value}")
        row.notes.append("the image is not hashed whole by a scan: vigil verify-image does that")
    row.error = row.error or unit.error
    return row


def image_source(image: EvidenceItem, fmt: str, options: ScanOptions) -> DiskImageSource:
    """The disk image source of a top-level image entry."""
    assert image.locator is not None
    parent: Source = source_for(image.locator, options.archives)
    return DiskImageSource(
        parent,
        image.locator,
        options.archives,
        shown=image.path,
        image_format=fmt,
        carve=options.carve,
    )


def scan_image_part(part: ImagePart, options: ScanOptions, key: str) -> list[ScanItem]:
    """Rows of an image part, read in a child process; an item that kills it gets the error."""
    rows: list[ScanItem] = []
    todo = list(part.items)
    while todo:
        done = 0
        try:
            for item_rows in in_child(
                _read_part,
                part,
                todo,
                options,
                key,
                idle_seconds=options.images.idle_seconds,
                memory_bytes=options.images.memory_bytes,
            ):
                rows.extend(item_rows)
                done += 1
            break
        except ChildFailedError as exc:
            if done >= len(todo):
                break
            failed = todo[done]
            if isinstance(failed, Region):
                failed = image_source(part.image, part.format, options).region_item(failed)
            row = item_from_entry(failed, key)
            row.error = f"reading this item stopped the image reader: {exc}"
            rows.append(row)
            todo = todo[done + 1 :]
    return rows


def _read_part(
    part: ImagePart, items: list[EvidenceItem | Region], options: ScanOptions, key: str
) -> Iterator[list[ScanItem]]:
    """In the child: one list of rows per item (an item and what is inside it)."""
    source = image_source(part.image, part.format, options)
    source.hold()
    try:
        for item in items:
            if isinstance(item, Region):
                yield _carve_rows(source, item, options, key)
                continue
            out = []
            for inner, hashed in hash_with(source, item, options):
                row = item_from_entry(inner, key)
                if hashed is not None:
                    _take_hashes(row, hashed)
                out.append(row)
            deleted = any("deleted=true" in n for n in item.notes)
            if deleted and out[0].error and not out[0].error.startswith("deleted"):
                out[0].error = f"deleted file: content cannot be recovered ({out[0].error})"
            yield out
    finally:
        source.release()


def _carve_rows(
    source: DiskImageSource, region: Region, options: ScanOptions, key: str
) -> list[ScanItem]:
    rows = [item_from_entry(source.region_item(region), key)]
    for carved in source.carve_region(region):
        row = item_from_entry(carved, key)
        if carved.error is None:
            _take_hashes(
                row, hash_content(carved.path, carved.data, None, options.hashing, options.known)
            )
        rows.append(row)
    rows[0].notes.append(f"carved objects: {len(rows) - 1:,}")
    return rows


#: Files smaller than this are never taken for disk images (the smallest file system
#: TSK reads is larger); raw images are whole sectors, E01 segments are named so.
MIN_IMAGE_BYTES = 64 << 10
_EWF_NAMES = (".e01", ".ex01", ".s01")


def image_format(
    entry: EvidenceItem, named: set[str] | frozenset[str], options: ScanOptions
) -> str | None:
    """``raw`` or ``ewf`` if the top-level file ``entry`` is a disk image to split into units."""
    loc = entry.locator
    if entry.kind != "file" or entry.error or loc is None or loc.depth != 0:
        return None
    if options.image_format and loc.root.name in named:
        return options.image_format
    size = entry.size or 0
    if size < MIN_IMAGE_BYTES:
        return None
    if size % 512 and not loc.root.name.lower().endswith(_EWF_NAMES):
        return None
    try:
        with source_for(loc, options.archives).open(loc) as stream:
            head = stream.read(HEAD_SIZE)
    except (VigilError, OSError):
        return None  # the worker reads it as a file and records why it cannot
    return detect_head(head, loc.root.name)


def hash_unit(
    entry: EvidenceItem, options: ScanOptions
) -> list[tuple[EvidenceItem, FileHashes | None]]:
    """The unit's items (the entry, then what is inside it) with their hashes.

    Items that are not content (links, FIFOs, recorded failures) come with None.
    """
    if entry.kind != "file" or entry.error or entry.locator is None:
        return [(entry, None)]
    return hash_with(source_for(entry.locator, options.archives), entry, options)


def hash_with(
    source: Source, entry: EvidenceItem, options: ScanOptions
) -> list[tuple[EvidenceItem, FileHashes | None]]:
    """``hash_unit`` through an open ``source`` (one disk image opened once per part).

    A top-level disk image is not hashed whole (as in a scan: ``vigil verify-image``
    hashes the media); its items follow it.
    """
    if entry.kind != "file" or entry.error or entry.locator is None:
        return [(entry, None)]
    fmt = image_format(entry, frozenset(), options)
    if fmt is not None:
        record = FileHashes(path=entry.path, size=entry.size, type=_IMAGE_TYPES[fmt])
        record.notes.append("disk image: not hashed whole (vigil verify-image hashes its media)")
        return [
            (entry, record),
            *_hash_inner(expand_item(source, entry, options.archives), options),
        ]
    try:
        stream = source.open(entry.locator)
    except VigilError as exc:
        return [(entry, FileHashes(path=entry.path, error=str(exc)))]
    with stream:
        video_path = _splittable_video(entry, stream, options)
        if video_path is not None:
            # A video file on disk: its segments can be decoded by several processes,
            # which open it by path (``HashOptions.video_workers``).
            hashed = hash_file(video_path, options.hashing, options.known)
        else:
            hashed = hash_opened(entry.path, stream, options.hashing, options.known)
        out: list[tuple[EvidenceItem, FileHashes | None]] = [(entry, hashed)]
        if hashed.size and not hashed.known and hashed.error is None:
            stream.seek(0)
            inner = expand_item(source, entry, options.archives, stream=stream)
            out.extend(_hash_inner(inner, options))
    return out


def _hash_inner(
    items: Iterator[EvidenceItem], options: ScanOptions
) -> Iterator[tuple[EvidenceItem, FileHashes | None]]:
    """Items found inside a unit, each with its hashes (None for what is not content)."""
    for inner in items:
        if inner.kind == "file" and inner.error is None:
            yield (
                inner,
                hash_content(inner.path, inner.data, inner.stream, options.hashing, options.known),
            )
        else:
            yield inner, None


def with_video_workers(options: ScanOptions, cores: int) -> ScanOptions:
    """``options`` letting one long video use ``cores`` processes (see ``_splittable_video``).

    Each unit's worker may then start its own segment workers: while every worker is
    busy the cores are shared, and when one long video is the last file left it gets
    them all.
    """
    if cores <= 1 or options.hashing.video_workers > 1:
        return options
    return replace(options, hashing=replace(options.hashing, video_workers=cores))


def _splittable_video(entry: EvidenceItem, stream: BinaryIO, options: ScanOptions) -> str | None:
    """The path of a top-level video file on disk, when long videos may be split; else None."""
    loc = entry.locator
    if options.hashing.video_workers <= 1 or loc is None:
        return None
    if len(loc.steps) != 1 or loc.root.kind != FolderSource.kind:
        return None
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    return loc.root.name if media_kind(sniff(head)) == "video" else None


def scan_source(
    entry: EvidenceItem, options: ScanOptions, *, source: str | None = None
) -> list[ScanItem]:
    """Rows for one unit: the entry itself, then any items inside it.

    ``source``: the unit's key, which every row carries (default: the entry's path).
    """
    rows = []
    for item, hashed in hash_unit(entry, options):
        row = item_from_entry(item, source or entry.path)
        if hashed is not None:
            _take_hashes(row, hashed)
            if item is entry and hashed.size is not None and entry.size not in (None, hashed.size):
                row.notes.append(
                    f"file changed between listing and reading: {entry.size:,} bytes when "
                    f"listed, {hashed.size:,} when hashed"
                )
        rows.append(row)
    return rows


def item_from_entry(entry: EvidenceItem, source: str) -> ScanItem:
    """A row for an evidence entry, before any hashing: where it is, what it is, its times."""
    return ScanItem(
        path=entry.path,
        source=source,
        container=entry.container,
        depth=entry.depth,
        kind=entry.kind,
        size=entry.size,
        mtime=entry.mtime,
        ctime=entry.ctime,
        atime=entry.atime,
        link_target=entry.link_target,
        notes=list(entry.notes),
        error=entry.error,
        locator=entry.locator.to_text() if entry.locator is not None else None,
    )


def _take_hashes(item: ScanItem, hashed: FileHashes) -> None:
    item.type = hashed.type
    item.size = hashed.size if hashed.size is not None else item.size
    item.signals.update(hashed.signals)  # every registered type, not a fixed list
    item.pdq_quality = hashed.pdq_quality
    item.known = hashed.known
    item.notes.extend(hashed.notes)
    item.error = item.error or hashed.error


# -- hashing an open stream ------------------------------------------------------------
#
# signals.filehash hashes a path (one pass, media decoded from the kept bytes or, for
# video, the path) or content (bytes, or a stream that gets digests only). Until a
# signal type takes a seekable stream itself, this bridge gives an opened item the
# same record ``hash_file`` gives a path: images (up to the decoding limit) and empty
# files as bytes, everything else streamed once for digests, then a video re-read from
# the start by the decoder, as ``hash_file`` re-reads the path.


def hash_opened(
    label: str, stream: BinaryIO, options: HashOptions, known: KnownTest | None = None
) -> FileHashes:
    """Hash an opened, seekable item as ``hash_file`` hashes a file. Never raises for the item.

    Every registered signal type computes itself (``vigil.signals.filehash.hash_stream``).
    """
    return hash_stream(label, stream, options, known)
