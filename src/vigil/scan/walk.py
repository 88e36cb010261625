"""Hashed items for paths: the one pipeline behind ``vigil hash`` and ``vigil match``.

The same sources and the same worker as ``vigil scan`` (``scan.worker.hash_unit``), so
every command sees the same items: folders walked in the same order, archives opened
the same way (members listed as ``a.zip!/b.jpg``), the same per-item error rows. Units
(top-level items) are hashed on all cores through ``vigil.parallel.ordered_map`` and
come back in walk order; a worker that dies costs one unit, recorded as an error row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

from vigil.media.sources.base import EvidenceItem
from vigil.media.sources.registry import walk
from vigil.parallel import ordered_map
from vigil.scan.worker import ScanOptions, hash_unit, with_video_workers
from vigil.signals.filehash import FileHashes


def hash_units(
    paths: list[Path], options: ScanOptions | None = None, jobs: int = 0
) -> Iterator[list[FileHashes]]:
    """For each top-level item under ``paths``, in walk order: its record and its members'.

    Items that are not content (links, FIFOs, a folder that cannot be listed) get a
    record without hashes, with the walk's notes and error. ``jobs``: worker processes
    (0 = all cores; 1 = in this process).
    """
    options = options or ScanOptions()
    units = list(walk(paths, options.archives, expand=False))
    cores = jobs or os.cpu_count() or 1
    workers = min(cores, max(1, len(units)))
    options = with_video_workers(options, cores)
    yield from ordered_map(
        partial(_hash_records, options=options),
        units,
        jobs=workers,
        on_failure=_failure_records,
        weight=lambda entry: entry.size or 0,
        max_weight=32 << 20,
    )


def hash_items(
    paths: list[Path], options: ScanOptions | None = None, jobs: int = 0
) -> Iterator[FileHashes]:
    """Every item under ``paths`` hashed, in walk order (``hash_units``, flattened)."""
    for records in hash_units(paths, options, jobs):
        yield from records


def _hash_records(entry: EvidenceItem, options: ScanOptions) -> list[FileHashes]:
    out = []
    for item, hashed in hash_unit(entry, options):
        if hashed is None:
            hashed = FileHashes(path=item.path, error=item.error)
            if item.kind != "file":
                hashed.notes.append(f"not hashed: {item.kind}")
            hashed.notes.extend(item.notes)
        hashed.path = item.path
        out.append(hashed)
    return out


def _failure_records(entry: EvidenceItem, exc: BaseException) -> list[FileHashes]:
    if isinstance(exc, BrokenProcessPool):
        message = "the worker process died while hashing this file (a crash in a decoder?)"
    else:
        message = f"worker failed on this file: {exc!r}"
    return [FileHashes(path=entry.path, error=message)]
