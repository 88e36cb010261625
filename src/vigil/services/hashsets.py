"""The hash-set use cases: import a file, export a set, delete a set, curate entries.

The CLI and the service call these; the format adapters (``vigil.hashsets.formats``)
read and write files and know nothing of the store, and the store
(``vigil.store.hashsets``) keeps rows and knows nothing of files.

Import: detect, read, validate, store atomically.

The whole import is one transaction (``HashSetRepository.replace``): a bad record
(without ``skip_invalid``), a read error or Ctrl-C rolls everything back. Importing
under an existing name replaces that set, so re-importing a file is idempotent; when
the file is byte-for-byte the one already imported under that name (same SHA-256,
format and kind) and nothing was merged into or removed from the set since, nothing
is written at all.

Modes (``mode``): ``replace`` (the default, above); ``merge`` adds the file's entries
to an existing set and updates the entries that are the same item (the identity rule
is ``HashSetRepository.same_entries``: the strongest digest both hold, no hash type
disagreeing); ``remove`` withdraws the listed entries for ever. Each is one
transaction, recorded with the file's provenance in the set's history
(``vigil.store.hashset_history``). Merging into a set that does not exist creates it.
"""

from __future__ import annotations

import csv
import sqlite3
import stat
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vigil.errors import (
    HashSetError,
    InvalidRecordError,
    UnknownHashSetError,
    UsageError,
    VigilError,
    describe,
)
from vigil.hashsets.formats import detect_format, get_format
from vigil.hashsets.formats.base import HashSetFormat, Limits, ReadContext
from vigil.hashsets.model import (
    DigestBlock,
    Entry,
    HashSetInfo,
    HashSetKind,
    ImportReport,
    Rejected,
)
from vigil.settings import Settings
from vigil.store import Store
from vigil.store.curation import Curation
from vigil.store.hashset_history import HistoryEvent
from vigil.store.hashsets import HashSetRepository, Match

#: The import modes (``import_file(mode=)``, ``vigil hashset import --mode``).
MODES = ("replace", "merge", "remove")

#: Progress callback: (position, total) in bytes or rows; total 0 when unknown.
Progress = Callable[[int, int], None]
#: Rejected records kept in the report (all are counted).
MAX_REPORTED = 1000
_PROGRESS_EVERY = 20_000
#: Bytes of file read after which the loader is made to write the entries it holds.
FLUSH_BYTES = 64 << 20


def import_file(
    repo: HashSetRepository,
    path: Path,
    *,
    name: str | None = None,
    kind: HashSetKind | None = None,
    format_name: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    limits: Limits | None = None,
    mode: str = "replace",
) -> ImportReport:
    """Import ``path`` as the set ``name`` (default: the file's stem); see the module doc.

    ``limits`` bound what the reader holds (default: the ``VIGIL_HASHSET_MAX_*``
    settings). ``mode`` is replace, merge or remove (module doc); the report's
    ``event`` says what a merge or removal did.
    """
    if mode not in MODES:
        raise UsageError(f"unknown import mode {mode!r} (use {', '.join(MODES)})")
    problem = path_problem(path)
    if problem is not None:
        raise HashSetError(problem)
    format_name = format_name or detect_format(path)
    fmt = get_format(format_name)
    info = HashSetInfo(
        name=name or path.stem,
        kind=kind or fmt.default_kind or HashSetKind.alert,
        provenance=f"file {path.resolve()}",
        source_format=fmt.name,
        source_sha256=source_identity(fmt, path),
    )
    report = ImportReport(info=info)
    started = time.perf_counter()
    old = repo.get(info.name)
    event = HistoryEvent(
        mode=mode, file=str(path.resolve()), sha256=info.source_sha256, format=fmt.name
    )
    if mode == "remove" and old is None:
        raise UnknownHashSetError(f"no hash set named {info.name!r} to remove entries from")
    if mode != "replace" and old is not None:
        if kind is not None and kind != old.kind:
            raise UsageError(
                f"{info.name!r} is an {old.kind} set: --kind applies to replacing imports only"
            )
        return _apply(repo, fmt, path, old, event, report, skip_invalid, progress, limits)
    if (
        mode == "replace"
        and old is not None
        and (old.source_sha256, old.source_format, old.kind)
        == (info.source_sha256, info.source_format, info.kind)
        and (skip_invalid or not old.attributes.get("skipped_records"))
        and _last_mode(repo, info.name) in (None, "replace")
    ):
        report.info, report.unchanged, report.imported = old, True, old.entry_count
        return report
    ctx = ReadContext(path, limits=limits or Limits.from_settings(Settings.from_env()))
    skipped = [0]

    def finish(stored: HashSetInfo) -> None:
        if not entries_seen[0]:
            # raised before the commit: the transaction rolls back, any old set stays
            kept = f"; the existing set {info.name!r} is kept" if old is not None else ""
            why = f" ({skipped[0]:,} invalid records skipped)" if skipped[0] else ""
            raise HashSetError(
                f"{path}: no entries read as {fmt.name}{why}: nothing was imported{kept}"
            )
        stored.category_profile = ctx.category_profile
        stored.version = ctx.version
        stored.attributes = dict(ctx.attributes)
        if skipped[0]:
            stored.attributes["skipped_records"] = skipped[0]

    entries_seen = [0]
    checked = _checked(fmt, ctx, report, skipped, skip_invalid, progress)
    entries = _counted(checked, entries_seen)
    try:
        report.info = repo.replace(info, entries, finish, event)
    finally:
        entries.close()  # the reader's file closes now, not when the cycle collector runs
        checked.close()
    report.imported = report.info.entry_count
    report.mode = event.mode
    report.changes = {"added": event.added, "updated": event.updated, "removed": event.removed}
    report.seconds = time.perf_counter() - started
    return report


def _last_mode(repo: HashSetRepository, name: str) -> str | None:
    """The mode of the set's latest recorded change (None: no history)."""
    events = repo.history(name)
    return events[-1].mode if events else None


def _apply(
    repo: HashSetRepository,
    fmt: HashSetFormat,
    path: Path,
    old: HashSetInfo,
    event: HistoryEvent,
    report: ImportReport,
    skip_invalid: bool,
    progress: Progress | None,
    limits: Limits | None,
) -> ImportReport:
    """Merge ``path``'s entries into the existing set ``old``, or withdraw them."""
    started = time.perf_counter()
    ctx = ReadContext(path, limits=limits or Limits.from_settings(Settings.from_env()))
    skipped = [0]
    entries_seen = [0]

    def finish(stored: HashSetInfo) -> None:
        if not entries_seen[0]:
            why = f" ({skipped[0]:,} invalid records skipped)" if skipped[0] else ""
            raise HashSetError(
                f"{path}: no entries read as {fmt.name}{why}: the set {old.name!r} is unchanged"
            )
        if ctx.version:
            stored.version = ctx.version

    checked = _checked(fmt, ctx, report, skipped, skip_invalid, progress)
    entries = _counted(checked, entries_seen)
    try:
        report.info = repo.apply(old.name, entries, event, finish)
    finally:
        entries.close()
        checked.close()
    report.mode = event.mode
    report.changes = {"added": event.added, "updated": event.updated, "removed": event.removed}
    report.imported = event.added + event.updated + event.removed
    report.seconds = time.perf_counter() - started
    return report


def path_problem(path: Path) -> str | None:
    """Why ``path`` cannot be imported (missing, a folder, a FIFO, a device), or None.

    A FIFO or a device would be read for ever or block; each gets its own message
    rather than "no such file".
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{path}: is a folder, not a hash-set file"
    if stat.S_ISFIFO(mode):
        return f"{path}: is a FIFO (named pipe), not a hash-set file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return f"{path}: is a device, not a hash-set file"
    if stat.S_ISSOCK(mode):
        return f"{path}: is a socket, not a hash-set file"
    return f"{path}: is not a regular file"


def _counted(
    items: Iterator[Entry | DigestBlock], seen: list[int]
) -> Iterator[Entry | DigestBlock]:
    """``items``, counting the entries they hold into ``seen[0]``."""
    for item in items:
        seen[0] += len(item.values) if type(item) is DigestBlock else 1  # type: ignore[union-attr]
        yield item


#: Reader exceptions that mean "this file is not what the format reads" when a reader
#: missed a case: reported as a HashSetError naming the file, never as a traceback.
_READER_FAILURES = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    UnicodeError,
    RecursionError,
    OverflowError,
    MemoryError,
    csv.Error,
    sqlite3.Error,
    zipfile.BadZipFile,
    EOFError,
)


def _checked(
    fmt: HashSetFormat,
    ctx: ReadContext,
    report: ImportReport,
    skipped: list[int],
    skip_invalid: bool,
    progress: Progress | None,
) -> Iterator[Entry | DigestBlock]:
    """The reader's entries; a Rejected one stops the import or is set aside.

    The store batches entries by count; a list of huge records would make a batch
    huge, so after ``FLUSH_BYTES`` of file read since the last flush an empty
    DigestBlock is passed on, which makes the loader write what it holds.
    """
    items = fmt.read(ctx)
    try:
        yield from _checked_items(items, fmt, ctx, report, skipped, skip_invalid, progress)
    finally:
        items.close()  # type: ignore[attr-defined]


def _checked_items(
    items: Iterator[Entry | DigestBlock | Rejected],
    fmt: HashSetFormat,
    ctx: ReadContext,
    report: ImportReport,
    skipped: list[int],
    skip_invalid: bool,
    progress: Progress | None,
) -> Iterator[Entry | DigestBlock]:
    """``_checked``'s loop over the reader's ``items``."""
    countdown = _PROGRESS_EVERY
    mark = 0
    while True:
        try:
            item = next(items)
        except StopIteration:
            break
        except VigilError:
            raise
        except _READER_FAILURES as exc:
            raise HashSetError(
                f"{ctx.name}: cannot be read as {fmt.name}: {describe(exc)}"
            ) from exc
        if type(item) is Entry:
            yield item
            position = ctx.position
            if position - mark > FLUSH_BYTES:
                mark = position
                yield DigestBlock("md5", [])
        elif type(item) is DigestBlock:
            yield item
            mark = ctx.position
            countdown = 1
        else:
            assert isinstance(item, Rejected)
            if item.fatal or not skip_invalid:
                raise InvalidRecordError(str(item))
            skipped[0] += 1
            if len(report.skipped) < MAX_REPORTED:
                report.skipped.append(item)
        countdown -= 1
        if not countdown:
            countdown = _PROGRESS_EVERY
            if progress is not None:
                progress(ctx.position, ctx.total)
    if progress is not None:
        progress(ctx.total or ctx.position, ctx.total)


def source_identity(fmt: HashSetFormat, path: Path) -> str:
    """What says "this is the same source" (the format decides; see ``source_identity``).

    An unreadable file (no permission, an I/O error) is a HashSetError naming it.
    """
    try:
        return fmt.source_identity(path)
    except OSError as exc:
        raise HashSetError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def export_set(repo: HashSetRepository, name: str, format_name: str, out: Path | None) -> int:
    """Write the set ``name`` as ``format_name`` to ``out`` (stdout if None); return count."""
    info = repo.require(name)
    fmt = get_format(format_name)
    entries = repo.entries(name)
    if fmt.writes_path:
        if out is None:
            raise UsageError(f"format {fmt.name} writes a database: give --out FILE")
        return fmt.write(entries, out, info)
    if out is None:
        count = fmt.write(entries, sys.stdout.buffer, info)
        sys.stdout.buffer.flush()
        return count
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            count = fmt.write(entries, handle, info)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return count


class HashSets:
    """The hash sets of one store, as the CLI and the service's routes use them.

    Reads go to the store's repository; every write goes through the curation
    repository, which bumps the change counter in the same transaction, so that
    serving processes see it within a poll interval. There is one delete path:
    ``delete_set`` (which also drops the set's disabled-entry marks).
    """

    def __init__(self, store: Store) -> None:
        """Work on ``store`` (open, migrated)."""
        self.store = store
        self.repo = store.hashsets
        self.curation = Curation(store.db)

    # -- reading ----------------------------------------------------------------------

    def list(self) -> list[HashSetInfo]:
        """Every set, by name."""
        return self.repo.list()

    def get(self, name: str) -> HashSetInfo | None:
        """The set called ``name``, if any."""
        return self.repo.get(name)

    def require(self, name: str) -> HashSetInfo:
        """The set called ``name``, or UnknownHashSetError."""
        return self.repo.require(name)

    def counts(self, name: str) -> tuple[dict[str, int], dict[str | None, int]]:
        """Entries holding each hash type, and entries per category."""
        return self.repo.counts(name)

    def flag_counts(self, name: str) -> dict[str, dict[str, int]]:
        """Per flag (victim identified, ...), the entries that say yes and no."""
        return self.repo.flag_counts(name)

    def history(self, name: str) -> list[HistoryEvent]:
        """The set's imports, merges and removals, oldest first."""
        return self.repo.history(name)

    def entries(self, name: str) -> Iterator[Entry]:
        """The set's entries in their original order, streamed."""
        return self.repo.entries(name)

    def lookup(self, queries: list[tuple[str, str]]) -> list[Match]:
        """Every entry holding one of the exact ``(hash_type, canonical hex)`` queries."""
        return self.repo.lookup(queries)

    def entry(self, name: str, entry_no: int) -> dict[str, Any]:
        """One entry as the service shows it (hashes, category, metadata, disabled state)."""
        return self.curation.entry(name, entry_no)

    def version(self) -> str:
        """A token that changes whenever a set or an entry changes."""
        return self.curation.version()

    def disabled(self) -> dict[tuple[int, int], float | None]:
        """Entries a curator disabled, with the time they are disabled until (None: ever)."""
        return self.curation.disabled()

    # -- writing ----------------------------------------------------------------------

    def import_file(self, path: Path, **options: Any) -> ImportReport:
        """Import a hash-set file (see ``import_file``)."""
        return import_file(self.repo, path, **options)

    def export(self, name: str, format_name: str, out: Path | None) -> int:
        """Write a set to a file or stdout (see ``export_set``)."""
        return export_set(self.repo, name, format_name, out)

    def create_set(
        self,
        name: str,
        kind: HashSetKind = HashSetKind.alert,
        attributes: dict[str, Any] | None = None,
        provenance: str | None = None,
    ) -> HashSetInfo:
        """Create an empty set; UsageError if the name is taken or invalid."""
        return self.curation.create_set(name, kind, attributes, provenance)

    def rename_set(self, name: str, new_name: str) -> HashSetInfo:
        """Rename a set."""
        return self.curation.rename_set(name, new_name)

    def update_attributes(self, name: str, changes: dict[str, Any]) -> HashSetInfo:
        """Change a set's attributes (its PDQ threshold, ...)."""
        return self.curation.update_attributes(name, changes)

    def delete_set(self, name: str) -> bool:
        """Delete a set and everything that hangs on it; False if there was none."""
        return delete_set(self.store, name)

    def add_entry(
        self,
        name: str,
        hashes: dict[str, str],
        *,
        category: str | None = None,
        note: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[HashSetInfo, int]:
        """Append one entry of canonical hashes to a set; return the set and entry number."""
        return self.curation.add_entry(
            name, hashes, category=category, note=note, metadata=metadata
        )

    def set_disabled(
        self, name: str, entry_no: int, disabled: bool, until: float | None = None, by: str = ""
    ) -> dict[str, Any]:
        """Disable an entry (for ever, or until the Unix time ``until``) or enable it."""
        return self.curation.set_disabled(name, entry_no, disabled, until, by)


def delete_set(store: Store, name: str) -> bool:
    """Delete the set ``name`` with everything that hangs on it (disabled entries too).

    The one delete path for the CLI and the service: it goes through the curation
    repository, which also bumps the change counter so that serving processes drop
    the set within a poll interval.
    """
    return Curation(store.db).delete_set(name)
