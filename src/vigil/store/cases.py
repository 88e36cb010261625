"""The case repository: cases, the sources scanned into them, their items, their audit log.

Layout (migration 2): ``cases`` one row per case (name, examiner, settings as JSON);
``case_sources`` one row per file on disk that was scanned (its walk order, and the
size and mtime it had, to recognise it on resume); ``case_items`` every row a source
produced (the file, then archive members), keyed ``(case_id, source, ord)``;
``audit_log`` the hash-chained log of actions (see ``vigil.audit``).

A source and all its items are written in one transaction, replacing whatever an
earlier, interrupted run wrote for it: a scan killed at any point and run again
records every item once. Matches and notes are JSON.

An item's signals (hashes) are generic rows since migration 9: ``case_item_signals``
holds one ``(signal, value)`` row per item and signal type, keyed by the item's key
and the type's stored name. Rows rather than one JSON column because the case's
rules work on single signals: duplicates are grouped by SHA-256 through the index
``(case_id, signal, value)``, and a new signal type (a future video or audio hash)
is stored, read back and grouped like any other without a migration. Digests are
stored as the lower-case hex text records carry (a case holds far fewer rows than a
hash set); other values (vPDQ's frame list) as JSON.

An item also keeps its ``locator`` (where to read it again: archive members, files
inside disk images) and, for items inside a disk image, the facts the results show:
``deleted``, ``partition``, ``filesystem``, ``inode`` and a carved object's
``offset`` (columns ``deleted``, ``partition_name``, ``filesystem``, ``inode``,
``image_offset``; read from the item's fields where it has them, else from the note
``vigil.media.sources.diskimage`` writes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from vigil.audit import AuditEntry, append
from vigil.errors import VigilError
from vigil.media.sources.diskimage import image_facts
from vigil.records import ScanItem
from vigil.signals import SIGNAL_TYPES
from vigil.store.database import Database

SQLITE = """
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    examiner TEXT,
    description TEXT,
    settings TEXT
);
CREATE TABLE case_sources (
    case_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    size INTEGER,
    mtime REAL,
    scanned_at TEXT NOT NULL,
    PRIMARY KEY (case_id, path)
);
CREATE TABLE case_items (
    case_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    ord INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    container TEXT,
    depth INTEGER NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER,
    mtime REAL,
    ctime REAL,
    atime REAL,
    type TEXT,
    md5 TEXT,
    sha1 TEXT,
    sha256 TEXT,
    pdq TEXT,
    pdq_quality INTEGER,
    vpdq TEXT,
    link_target TEXT,
    known INTEGER NOT NULL,
    notes TEXT,
    error TEXT,
    matches TEXT,
    PRIMARY KEY (case_id, source, ord)
);
CREATE INDEX case_items_sha256 ON case_items (case_id, sha256);
CREATE TABLE audit_log (
    case_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
);
"""

POSTGRES = (
    SQLITE.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY")
    .replace("INTEGER", "BIGINT")
    .replace("REAL", "DOUBLE PRECISION")
)

#: The item table since migration 9 (signals in ``case_item_signals``).
ITEMS_SQLITE = """
CREATE TABLE case_items (
    case_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    ord INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    container TEXT,
    depth INTEGER NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER,
    mtime REAL,
    ctime REAL,
    atime REAL,
    type TEXT,
    pdq_quality INTEGER,
    link_target TEXT,
    known INTEGER NOT NULL,
    notes TEXT,
    error TEXT,
    matches TEXT,
    locator TEXT,
    deleted INTEGER,
    partition_name TEXT,
    filesystem TEXT,
    inode TEXT,
    image_offset INTEGER,
    PRIMARY KEY (case_id, source, ord)
);
CREATE TABLE case_item_signals (
    case_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    ord INTEGER NOT NULL,
    signal TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (case_id, source, ord, signal)
);
CREATE INDEX case_item_signals_value ON case_item_signals (case_id, signal, value)
"""

_ITEM_COLUMNS = (
    "case_id", "source", "ord", "seq", "path", "container", "depth", "kind", "size",
    "mtime", "ctime", "atime", "type", "pdq_quality", "link_target", "known", "notes",
    "error", "matches", "locator", "deleted", "partition_name", "filesystem", "inode",
    "image_offset",
)  # fmt: skip
#: The signal whose equal values make items duplicates of each other.
DUPLICATE_SIGNAL = "sha256"
#: Disk-image facts: the item's field name and its column.
_IMAGE_COLUMNS = (
    ("deleted", "deleted"), ("partition", "partition_name"), ("filesystem", "filesystem"),
    ("inode", "inode"), ("offset", "image_offset"),
)  # fmt: skip


class UnknownCaseError(VigilError):
    """No case of that name exists."""


@dataclass(frozen=True)
class Case:
    """A case as stored."""

    id: int
    name: str
    created_at: str
    examiner: str | None
    description: str | None
    settings: dict[str, Any]


class CaseRepository:
    """Cases in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (already migrated)."""
        self.db = db

    def get(self, name: str) -> Case | None:
        """The case called ``name``, if any."""
        rows = self.db.execute(
            "SELECT id, name, created_at, examiner, description, settings FROM cases "
            "WHERE name = ?",
            (name,),
        )
        if not rows:
            return None
        cid, cname, created, examiner, description, settings = rows[0]
        return Case(int(cid), cname, created, examiner, description, json.loads(settings or "{}"))

    def require(self, name: str) -> Case:
        """The case called ``name``, or UnknownCaseError listing the cases there are."""
        case = self.get(name)
        if case is None:
            names = [r[0] for r in self.db.execute("SELECT name FROM cases ORDER BY name")]
            raise UnknownCaseError(f"no case named {name!r} (cases: {', '.join(names) or 'none'})")
        return case

    def open(
        self, name: str, *, examiner: str | None = None, description: str | None = None
    ) -> tuple[Case, bool]:
        """The case called ``name``, created if new; and whether it was created.

        Get-or-create by one upsert: of several processes opening one new case at
        once, one creates it and the others get that same case, on both backends.
        """
        created = self.db.execute(
            "INSERT INTO cases (name, created_at, examiner, description, settings) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, datetime.now(UTC).isoformat(), examiner, description, "{}"),
        )
        return self.require(name), bool(created)

    def save_settings(self, case: Case, settings: dict[str, Any]) -> None:
        """Replace the case's settings (evidence roots, hash sets with versions, options)."""
        self.db.execute(
            "UPDATE cases SET settings = ? WHERE id = ?",
            (json.dumps(settings, sort_keys=True), case.id),
        )

    # -- sources and items --------------------------------------------------------------

    def done_sources(self, case: Case) -> dict[str, tuple[int | None, float | None]]:
        """Sources already recorded, with the size and mtime they had."""
        return {
            path: (size, mtime)
            for path, size, mtime in self.db.execute(
                "SELECT path, size, mtime FROM case_sources WHERE case_id = ?", (case.id,)
            )
        }

    def record(self, case: Case, seq: int, items: list[ScanItem]) -> None:
        """Write one source and all its items atomically, replacing an earlier attempt.

        The source's row is upserted first: it is the lock that makes two writers of
        one source (two scans of one tree into one case) take turns, the second one
        replacing the first's items instead of colliding with them.
        """
        source = items[0].source
        rows = [_item_row(case.id, seq, ord_, item) for ord_, item in enumerate(items)]
        signals = [
            (case.id, item.source, ord_, name, _signal_text(name, value))
            for ord_, item in enumerate(items)
            for name, value in item.signals.items()
            if value is not None
        ]
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO case_sources (case_id, path, seq, size, mtime, scanned_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, path) DO UPDATE SET "
                "seq = excluded.seq, size = excluded.size, mtime = excluded.mtime, "
                "scanned_at = excluded.scanned_at",
                (
                    case.id,
                    source,
                    seq,
                    items[0].size,
                    items[0].mtime,
                    datetime.now(UTC).isoformat(),
                ),
            )
            self.db.execute(
                "DELETE FROM case_item_signals WHERE case_id = ? AND source = ?",
                (case.id, source),
            )
            self.db.execute(
                "DELETE FROM case_items WHERE case_id = ? AND source = ?", (case.id, source)
            )
            self.db.executemany(
                f"INSERT INTO case_items ({', '.join(_ITEM_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _ITEM_COLUMNS)})",
                rows,
            )
            if signals:
                self.db.executemany(
                    "INSERT INTO case_item_signals (case_id, source, ord, signal, value) "
                    "VALUES (?, ?, ?, ?, ?)",
                    signals,
                )

    def items(self, case: Case, *, matches_only: bool = False) -> Iterator[ScanItem]:
        """Every item in walk order, with ``duplicate_of`` set for exact duplicates.

        The representative of a group of identical files (same SHA-256) is the first
        one found in walk order; every other member names it.
        """
        first: dict[str, str] = {}
        for item in self._items(case):
            key = item.signals.get(DUPLICATE_SIGNAL)
            if key and item.kind == "file" and item.error is None:
                representative = first.setdefault(key, item.path)
                if representative != item.path:
                    item.duplicate_of = representative
            if matches_only and not item.matches:
                continue
            yield item

    def _items(self, case: Case) -> Iterator[ScanItem]:
        """Every item in walk order with its signals: one query, item rows joined to theirs."""
        columns = ", ".join(f"i.{c}" for c in _ITEM_COLUMNS[1:])
        current: ScanItem | None = None
        key: tuple[Any, Any] | None = None
        for row in self.db.stream(
            f"SELECT {columns}, s.signal, s.value FROM case_items i "
            "LEFT JOIN case_item_signals s "
            "ON s.case_id = i.case_id AND s.source = i.source AND s.ord = i.ord "
            "WHERE i.case_id = ? ORDER BY i.seq, i.ord, i.source",
            (case.id,),
        ):
            row_key = (row[0], row[1])  # source, ord
            if row_key != key:
                if current is not None:
                    yield _ordered(current)
                current, key = _item_from_row(row[:-2]), row_key
            if row[-2] is not None:
                assert current is not None
                current.signals[row[-2]] = _signal_value(row[-2], row[-1])
        if current is not None:
            yield _ordered(current)

    def duplicate_count(self, case: Case) -> int:
        """Files of the case that repeat an earlier file's SHA-256 (whole case).

        Groups by the index ``(case_id, signal, value)`` of the item signals.
        """
        rows = self.db.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n "
            "FROM case_item_signals s JOIN case_items i "
            "ON i.case_id = s.case_id AND i.source = s.source AND i.ord = s.ord "
            "WHERE s.case_id = ? AND s.signal = ? AND i.kind = 'file' AND i.error IS NULL "
            "GROUP BY s.value) AS groups",
            (case.id, DUPLICATE_SIGNAL),
        )
        return int(rows[0][0])

    def counts(self, case: Case) -> dict[str, int]:
        """Sources and items recorded so far."""
        sources = self.db.execute("SELECT COUNT(*) FROM case_sources WHERE case_id = ?", (case.id,))
        items = self.db.execute("SELECT COUNT(*) FROM case_items WHERE case_id = ?", (case.id,))
        return {"sources": int(sources[0][0]), "items": int(items[0][0])}

    def not_examined(self, case: Case) -> int:
        """Items recorded with an error: not (fully) examined, in the whole case."""
        rows = self.db.execute(
            "SELECT COUNT(*) FROM case_items WHERE case_id = ? AND error IS NOT NULL", (case.id,)
        )
        return int(rows[0][0])

    # -- audit log ------------------------------------------------------------------------

    def audit(self, case: Case, actor: str, action: str, details: dict[str, Any]) -> AuditEntry:
        """Append an entry to the case's hash-chained audit log.

        Appends to one case are serialised: SQLite's ``BEGIN IMMEDIATE`` takes the
        write lock, PostgreSQL locks the case's row (``FOR UPDATE``) until the commit,
        so concurrent appenders each read the head the one before them wrote and
        never collide on ``(case_id, seq)``. Only the head is read, not the log.
        """
        with self.db.transaction():
            if self.db.dialect == "postgres":
                self.db.execute("SELECT id FROM cases WHERE id = ? FOR UPDATE", (case.id,))
            entry = append(
                self.audit_head(case),
                actor=actor,
                action=action,
                case=case.name,
                details=details,
            )
            self.db.execute(
                "INSERT INTO audit_log (case_id, seq, at, actor, action, details, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case.id, entry.seq, entry.at, entry.actor, entry.action,
                    json.dumps(entry.details, sort_keys=True), entry.prev, entry.hash,
                ),
            )  # fmt: skip
        return entry

    def audit_head(self, case: Case) -> AuditEntry | None:
        """The last entry of the case's audit log (one index seek), None for an empty log."""
        rows = self.db.execute(
            f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE case_id = ? ORDER BY seq DESC LIMIT 1",
            (case.id,),
        )
        return _audit_entry(case, rows[0]) if rows else None

    def audit_log(self, case: Case) -> list[AuditEntry]:
        """The case's audit log in stored order."""
        return [
            _audit_entry(case, row)
            for row in self.db.execute(
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE case_id = ? ORDER BY seq",
                (case.id,),
            )
        ]


_AUDIT_COLUMNS = "seq, at, actor, action, details, prev, hash"


def _audit_entry(case: Case, row: tuple[Any, ...]) -> AuditEntry:
    seq, at, actor, action, details, prev, digest = row
    return AuditEntry(int(seq), at, actor, action, case.name, json.loads(details), prev, digest)


def _signal_text(name: str, value: Any) -> str:
    """A signal value as stored: digests as their hex text, other values as JSON."""
    cls = SIGNAL_TYPES.get(name)
    if cls is not None and cls.digest_bytes is not None and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _signal_value(name: str, text: str) -> Any:
    """The stored text back as the record's value (see ``_signal_text``)."""
    cls = SIGNAL_TYPES.get(name)
    if cls is not None and cls.digest_bytes is not None:
        return text
    try:
        return json.loads(text)
    except ValueError:  # a type not registered now, written as plain text
        return text


def _ordered(item: ScanItem) -> ScanItem:
    """The item with its signals in registry order (as hashing made them)."""
    order = {name: i for i, name in enumerate(SIGNAL_TYPES)}
    if len(item.signals) > 1:
        item.signals = dict(sorted(item.signals.items(), key=lambda kv: order.get(kv[0], 1 << 30)))
    return item


def _image_values(item: ScanItem) -> list[Any]:
    """The disk-image facts of an item: its own fields where set, else its facts note."""
    facts = image_facts(item.notes)
    values = []
    for field_name, _column in _IMAGE_COLUMNS:
        value = getattr(item, field_name, None)
        values.append(facts[field_name] if value is None else value)
    deleted = values[0]
    values[0] = None if deleted is None else int(bool(deleted))
    return values


def _item_row(case_id: int, seq: int, ord_: int, item: ScanItem) -> tuple[Any, ...]:
    return (
        case_id, item.source, ord_, seq, item.path, item.container, item.depth, item.kind,
        item.size, item.mtime, item.ctime, item.atime, item.type, item.pdq_quality,
        item.link_target, int(item.known),
        json.dumps(item.notes, ensure_ascii=False) if item.notes else None,
        item.error,
        json.dumps(item.matches, ensure_ascii=False) if item.matches else None,
        item.locator, *_image_values(item),
    )  # fmt: skip


#: ScanItem fields for the disk-image facts, where the record has them.
_ITEM_FIELDS = frozenset(f.name for f in fields(ScanItem))


def _item_from_row(row: tuple[Any, ...]) -> ScanItem:
    (
        source, _ord, _seq, path, container, depth, kind, size, mtime, ctime, atime, type_,
        pdq_quality, link_target, known, notes, error, matches, locator, *image,
    ) = row  # fmt: skip
    item = ScanItem(
        path=path, source=source, container=container, depth=int(depth), kind=kind,
        size=size, mtime=mtime, ctime=ctime, atime=atime, type=type_,
        pdq_quality=pdq_quality, link_target=link_target, known=bool(known),
        notes=json.loads(notes) if notes else [], error=error,
        matches=json.loads(matches) if matches else [], locator=locator,
    )  # fmt: skip
    for (field_name, _column), value in zip(_IMAGE_COLUMNS, image, strict=True):
        if field_name in _ITEM_FIELDS and value is not None:
            setattr(item, field_name, bool(value) if field_name == "deleted" else value)
    return item
