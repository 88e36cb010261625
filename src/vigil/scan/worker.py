"""Scan work for one file on disk: hash it and, if it is an archive, every member in it.

This is the function a worker process runs (``scan_source``). It is a plain, picklable
function of picklable arguments, so any ``concurrent.futures.Executor`` can run it: a
local process pool today, a cluster's executor later. It reads evidence read-only and
returns rows; it writes nothing, so running it twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.media.archives import ArchiveLimits, is_archive
from vigil.media.evidence import EvidenceItem, expand_file
from vigil.records import ScanItem
from vigil.signals.filehash import FileHashes, HashOptions, KnownTest, hash_content, hash_file


@dataclass(frozen=True)
class ScanOptions:
    """How to scan: hashing options, archive limits, and the known-file test."""

    hashing: HashOptions = field(default_factory=HashOptions)
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    known: KnownTest | None = None


def scan_source(entry: EvidenceItem, options: ScanOptions) -> list[ScanItem]:
    """Rows for one entry found on disk: the entry itself, then any archive members."""
    item = item_from_entry(entry, entry.path)
    if entry.kind != "file" or entry.error:
        return [item]
    real = entry.fs_path or entry.path
    hashed = hash_file(real, options.hashing, options.known)
    hashed.path = entry.path
    _take_hashes(item, hashed)
    if hashed.size is not None and entry.size is not None and hashed.size != entry.size:
        item.notes.append(
            f"file changed between listing and reading: {entry.size:,} bytes when listed, "
            f"{hashed.size:,} when hashed"
        )
    rows = [item]
    if hashed.type and is_archive(hashed.type) and not hashed.known and hashed.size:
        for member in expand_file(real, options.archives, display=entry.path):
            row = item_from_entry(member, entry.path)
            if member.kind == "file" and member.error is None:
                data, stream = member.data, member.stream
                _take_hashes(
                    row, hash_content(member.path, data, stream, options.hashing, options.known)
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
    )


def _take_hashes(item: ScanItem, hashed: FileHashes) -> None:
    item.type = hashed.type
    item.size = hashed.size if hashed.size is not None else item.size
    item.md5, item.sha1, item.sha256 = hashed.md5, hashed.sha1, hashed.sha256
    item.pdq, item.pdq_quality, item.vpdq = hashed.pdq, hashed.pdq_quality, hashed.vpdq
    item.known = hashed.known
    item.notes.extend(hashed.notes)
    item.error = item.error or hashed.error
