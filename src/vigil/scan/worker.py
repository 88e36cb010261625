"""Scan work for one unit: a top-level item, hashed, and every item inside it (archive members).

This is the function a worker process runs (``scan_source``). It is a plain, picklable
function of picklable arguments, so any ``concurrent.futures.Executor`` can run it: a
local process pool today, a cluster's executor later. It opens evidence only through
its source (``vigil.media.sources``: the item's locator), read-only, never by path, and
returns rows; it writes nothing, so running it twice is harmless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import BinaryIO

from vigil.errors import MediaError, VigilError
from vigil.media.archives import ArchiveLimits
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.media.sources.base import EvidenceItem
from vigil.media.sources.registry import expand_item, source_for
from vigil.records import ScanItem
from vigil.signals.filehash import FileHashes, HashOptions, KnownTest, hash_content
from vigil.signals.vpdq import vpdq_from_video


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: hashing options, archive limits, and the known-file test."""

    hashing: HashOptions = field(default_factory=HashOptions)
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    known: KnownTest | None = None


def hash_unit(
    entry: EvidenceItem, options: ScanOptions
) -> list[tuple[EvidenceItem, FileHashes | None]]:
    """The unit's items (the entry, then what is inside it) with their hashes.

    Items that are not content (links, FIFOs, recorded failures) come with None.
    """
    if entry.kind != "file" or entry.error or entry.locator is None:
        return [(entry, None)]
    source = source_for(entry.locator, options.archives)
    try:
        stream = source.open(entry.locator)
    except VigilError as exc:
        return [(entry, FileHashes(path=entry.path, error=str(exc)))]
    with stream:
        hashed = hash_opened(entry.path, stream, options.hashing, options.known)
        out: list[tuple[EvidenceItem, FileHashes | None]] = [(entry, hashed)]
        if hashed.size and not hashed.known and hashed.error is None:
            stream.seek(0)
            for inner in expand_item(source, entry, options.archives, stream=stream):
                if inner.kind == "file" and inner.error is None:
                    record = hash_content(
                        inner.path, inner.data, inner.stream, options.hashing, options.known
                    )
                    out.append((inner, record))
                else:
                    out.append((inner, None))
    return out


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
    item.md5, item.sha1, item.sha256 = hashed.md5, hashed.sha1, hashed.sha256
    item.pdq, item.pdq_quality, item.vpdq = hashed.pdq, hashed.pdq_quality, hashed.vpdq
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

_DIGESTS_ONLY_NOTE = "too large to decode in memory: digests only"


def hash_opened(
    label: str, stream: BinaryIO, options: HashOptions, known: KnownTest | None = None
) -> FileHashes:
    """Hash an opened, seekable item as ``hash_file`` hashes a file. Never raises for the item."""
    try:
        declared = _size(stream)
        head = stream.read(HEAD_SIZE)
        stream.seek(0)
    except OSError as exc:
        return FileHashes(path=label, error=f"read failed: {exc.strerror or exc}")
    kind = media_kind(sniff(head)) if options.perceptual else None
    if declared == 0 or (kind == "image" and declared <= options.max_image_bytes):
        try:
            data = stream.read()
        except OSError as exc:
            return FileHashes(path=label, error=f"read failed: {exc.strerror or exc}")
        record = hash_content(label, data=data, options=options, known=known)
    else:
        record = hash_content(label, stream=stream, options=options, known=known)
        if _DIGESTS_ONLY_NOTE in record.notes:
            record.notes.remove(_DIGESTS_ONLY_NOTE)
        if record.error is None and not record.known and record.size:
            if kind == "image":
                record.error = (
                    f"image of {record.size:,} bytes is over the {options.max_image_bytes:,}-byte "
                    "decoding limit: digests only"
                )
            elif kind == "video":
                stream.seek(0)
                _hash_video(record, stream, options)
    if record.error is None and record.size is not None and record.size != declared:
        record.error = (
            f"file changed while being read: {declared:,} bytes at open, {record.size:,} read"
        )
    return record


def _size(stream: BinaryIO) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        end = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        return end


def _hash_video(record: FileHashes, stream: BinaryIO, options: HashOptions) -> None:
    try:
        frames, info = vpdq_from_video(
            stream,
            seconds_per_hash=options.seconds_per_hash,
            max_frame_pixels=options.max_frame_pixels,
        )
    except MediaError as exc:
        record.error = str(exc)
        return
    except Exception as exc:  # a decoder on hostile input raises anything
        record.error = f"internal error ({type(exc).__name__}): {exc}"
        return
    record.width, record.height = info.width, info.height
    record.frames = len(frames)
    record.vpdq = [
        {"pdq": f.pdq, "quality": f.quality, "timestamp": f.timestamp, "frame": f.frame}
        for f in frames
    ]
