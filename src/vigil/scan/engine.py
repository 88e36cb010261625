"""The triage scan: walk evidence, hash on all cores, match, record; resumable.

The unit of work and of resumption is one top-level item of a source (today a file on
disk) with everything inside it (archive members). Each unit goes to a worker as its
``EvidenceItem``, whose locator is all the worker needs to open it
(``vigil.media.sources``); every row comes back with the locator of its item, so
reports and referrals re-open archive members too. Units go to workers in batches
through ``vigil.parallel.ordered_map`` (any ``concurrent.futures.Executor``: a local
process pool by default); their rows come back in walk order, are matched in this
process, and are written to the case sink in one transaction per unit. A unit whose
rows are in the sink is done (keyed by its display path, the rows' ``source``, with its
size and mtime): running the same scan again after a crash skips it, so nothing is
lost and nothing is counted twice, and the rows equal those of an uninterrupted scan.

A disk image (detected from its first bytes, or forced with ``ScanOptions.image_format``
for the files named as evidence) is split into smaller units, so that a 3 TB image
resumes where it stopped: its own row, then runs of its items (by partition and
metadata address, in the order The Sleuth Kit lists them) and of its carve regions.
The listing runs in a child process with the memory and stall limits of
``ImageLimits``; a listing that crashes or hangs ends in an error row naming what was
reached, and the scan goes on. The later segments of a split image are recorded as
such and read through the first.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from vigil.media.sniff import media_kind
from vigil.media.sources.base import SEPARATOR, EvidenceItem
from vigil.media.sources.diskimage import Region, plan
from vigil.media.sources.isolate import ChildFailedError, in_child
from vigil.media.sources.registry import walk
from vigil.parallel import ordered_map
from vigil.records import ScanItem
from vigil.scan.worker import (
    ImageFile,
    ImagePart,
    ImageSegment,
    ScanOptions,
    Unit,
    image_format,
    image_source,
    item_from_entry,
    scan_unit,
    with_video_workers,
)


class CaseSink(Protocol):
    """Where a scan's rows go: the case in the store (or memory, in tests)."""

    def done_sources(self) -> dict[str, tuple[int | None, float | None]]:
        """Sources already recorded, with the size and mtime they had."""
        ...

    def record(self, seq: int, items: list[ScanItem]) -> None:
        """Write all rows of one source (``seq``: its walk order) atomically.

        Writing a source again replaces it, so a task that ran twice is harmless.
        """
        ...


Matcher = Callable[[ScanItem], list[dict[str, Any]]]


@dataclass
class Progress:
    """Counters a progress display reads; updated as sources complete."""

    files_total: int = 0
    bytes_total: int = 0
    files_done: int = 0
    bytes_done: int = 0
    items: int = 0
    matches: int = 0
    errors: int = 0
    skipped_done: int = 0


@dataclass
class ScanSummary:
    """What an examiner reads at the end of a scan."""

    items: int = 0
    files: int = 0
    bytes: int = 0
    media: int = 0
    known: int = 0
    unknown_media: int = 0
    matched_items: int = 0
    #: Matched items per hash set and per category (an item counts once in each).
    matches_by_hashset: Counter[str] = field(default_factory=Counter)
    matches_by_category: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    resumed_sources: int = 0
    seconds: float = 0.0

    def add(self, row: ScanItem) -> None:
        """Count one row."""
        self.items += 1
        if row.kind == "file" and row.md5 is not None:
            self.files += 1
            self.bytes += row.size or 0
        is_media = media_kind(row.type or "") is not None
        self.media += is_media
        self.known += row.known
        self.errors += row.error is not None
        alerts = [m for m in row.matches if m.get("kind", "alert") != "ignore"]
        if alerts:
            self.matched_items += 1
            for name in {m["hashset"] for m in alerts}:
                self.matches_by_hashset[name] += 1
            for category in {str(m.get("category")) for m in alerts}:
                self.matches_by_category[category] += 1
        elif is_media and not row.known:
            self.unknown_media += 1


def count_sources(roots: list[Path]) -> tuple[int, int]:
    """Files and bytes on disk under the roots (metadata only), for progress and ETA."""
    files = size = 0
    for entry in walk(roots, expand=False):
        if entry.kind == "file":
            files += 1
            size += entry.size or 0
    return files, size


def unit_key(entry: Unit) -> str:
    """The key a unit of work is recorded under and recognised by on resume.

    It is the display form of the unit's locator (``entry.path``), which its rows carry
    as ``source``: for a file on disk, its path as shown, as in every case recorded so
    far. A source that splits one root item into several units (a disk image's
    partitions, so that a 3 TB image resumes where it stopped) gives each unit its own
    item and locator, and so its own key, without a change here.
    """
    if isinstance(entry, ImagePart) and entry.key:
        return entry.key
    return entry.locator.display() if entry.locator is not None else entry.path


def _pending(
    entries: Iterable[Unit],
    done: dict[str, tuple[int | None, float | None]],
    progress: Progress,
) -> Iterator[tuple[int, Unit]]:
    """Entries not yet recorded, numbered in walk order (the same on every run)."""
    for seq, entry in enumerate(entries):
        if done.get(unit_key(entry)) == (entry.size, entry.mtime):
            progress.skipped_done += 1
            continue
        yield seq, entry


def _scan_numbered(
    numbered: tuple[int, Unit], options: ScanOptions
) -> tuple[int, list[ScanItem], bool]:
    seq, entry = numbered
    return seq, scan_unit(entry, options, unit_key(entry)), not isinstance(entry, ImagePart)


def _failed_source(
    numbered: tuple[int, Unit], exc: BaseException
) -> tuple[int, list[ScanItem], bool]:
    seq, entry = numbered
    first = entry.head if isinstance(entry, ImagePart) else entry
    first = first.entry if isinstance(first, ImageFile) else first
    item = item_from_entry(first, unit_key(entry))
    item.error = f"scan of this file failed: {exc!r}"
    return seq, [item], not isinstance(entry, ImagePart)


def _units(
    entries: Iterable[EvidenceItem], roots: list[Path], options: ScanOptions
) -> Iterator[Unit]:
    """The units of work: files as walked, disk images split into parts."""
    named = {str(r) for r in roots}
    claimed: dict[str, str] = {}  # later segments of split images -> the image
    for entry in entries:
        loc = entry.locator
        if loc is not None and loc.depth == 0 and loc.root.name in claimed:
            yield ImageSegment(entry, first=claimed[loc.root.name])
            continue
        fmt = image_format(entry, named, options)
        if fmt is None:
            yield entry
        else:
            yield from _image_units(entry, fmt, options, claimed)


def _image_units(
    entry: EvidenceItem, fmt: str, options: ScanOptions, claimed: dict[str, str]
) -> Iterator[Unit]:
    limits = options.images
    source = image_source(entry, fmt, options)
    planned = in_child(
        plan,
        source,
        limits.carve_piece_bytes,
        idle_seconds=limits.idle_seconds,
        memory_bytes=limits.memory_bytes,
    )
    try:
        header = next(planned)
    except (ChildFailedError, StopIteration) as exc:
        yield ImageFile(entry, error=f"cannot read disk image: {exc}")
        return
    for segment in header.get("segments", [])[1:]:
        claimed[segment] = entry.path
    yield ImageFile(entry, header)
    batch: list[EvidenceItem | Region] = []
    load = listed = 0

    keys: Counter[str] = Counter()

    def part(items: list[EvidenceItem | Region]) -> ImagePart:
        first = items[0]
        head = source.region_item(first) if isinstance(first, Region) else first
        shown = head.locator.display() if head.locator is not None else head.path
        keys[shown] += 1
        key = shown if keys[shown] == 1 else f"{shown} #{keys[shown]}"
        return ImagePart(entry, fmt, items, head, key)

    try:
        for item in planned:
            listed += 1
            if isinstance(item, Region):
                if batch:
                    yield part(batch)
                    batch, load = [], 0
                yield part([item])
                continue
            batch.append(item)
            load += item.size or 0
            if len(batch) >= limits.unit_items or load >= limits.unit_bytes:
                yield part(batch)
                batch, load = [], 0
    except ChildFailedError as exc:
        if batch:
            yield part(batch)
        yield EvidenceItem(
            path=f"{entry.path}{SEPARATOR}",
            container=entry.path,
            depth=1,
            kind="other",
            error=f"disk image listing stopped after {listed:,} entries: {exc}",
        )
        return
    if batch:
        yield part(batch)


def run_scan(
    roots: list[Path],
    sink: CaseSink,
    options: ScanOptions | None = None,
    *,
    matcher: Matcher | None = None,
    jobs: int = 0,
    batch_size: int = 8,
    progress: Progress | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    executor_factory: Callable[[int], Executor] | None = None,
) -> ScanSummary:
    """Scan the roots into the sink; return the summary of the rows written by this run."""
    options = options or ScanOptions()
    if executor_factory is None:  # cluster workers split no video: the cluster is the pool
        options = with_video_workers(options, jobs or os.cpu_count() or 1)
    progress = progress or Progress()
    summary = ScanSummary()
    started = time.monotonic()
    done = sink.done_sources()
    units = _units(walk(roots, options.archives, expand=False), roots, options)
    entries = _pending(units, done, progress)
    results = ordered_map(
        partial(_scan_numbered, options=options),
        entries,
        jobs=jobs or os.cpu_count() or 1,
        on_failure=_failed_source,
        batch_size=batch_size,
        executor_factory=executor_factory,
        weight=_weight,
        max_weight=32 << 20,
    )
    for seq, rows, top_level in results:
        for row in rows:
            if matcher is not None and row.kind == "file" and row.error is None:
                row.matches = matcher(row)
            summary.add(row)
            progress.matches += bool(row.matches)
            progress.errors += row.error is not None
        sink.record(seq, rows)
        if top_level:
            progress.files_done += 1
            progress.bytes_done += rows[0].size or 0
        progress.items += len(rows)
        if on_progress is not None:
            on_progress(progress)
    summary.resumed_sources = progress.skipped_done
    summary.seconds = time.monotonic() - started
    return summary


def _weight(numbered: tuple[int, Unit]) -> int:
    unit = numbered[1]
    if isinstance(unit, ImagePart):
        return unit.weight
    if isinstance(unit, ImageFile):
        return 0
    return unit.size or 0


class MemorySink:
    """A case sink in memory (tests, dry runs)."""

    def __init__(self) -> None:
        """Start empty."""
        self.rows: dict[str, list[ScanItem]] = {}
        self.stamps: dict[str, tuple[int | None, float | None]] = {}

    def done_sources(self) -> dict[str, tuple[int | None, float | None]]:
        """Sources recorded so far."""
        return dict(self.stamps)

    def record(self, seq: int, items: list[ScanItem]) -> None:
        """Replace the rows of one source."""
        source = items[0].source
        self.rows[source] = items
        self.stamps[source] = (items[0].size, items[0].mtime)
