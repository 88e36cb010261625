"""The history of a hash set: every import, merge and removal applied to it, with provenance.

One row per change that an import made (``vigil hashset import --mode``): when, the
mode, the file (its path, SHA-256 and format) and how many entries it added, updated
and removed. A lab that applies monthly updates and withdrawal lists to one set can
answer "which lists made this set what it is" from here (``vigil hashset show SET
--history``).

Rows are keyed by the set's id. A replacing import gives the set a new id (its old
entries go with the old one); its history is carried over to the new id in the same
transaction, so a set's history lasts as long as its name does; deleting the set
deletes its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.store.database import Database

SQLITE = """
CREATE TABLE hash_set_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    set_id INTEGER NOT NULL,
    at TEXT NOT NULL,
    mode TEXT NOT NULL,
    file TEXT,
    sha256 TEXT,
    format TEXT,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    entries_after INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX hash_set_history_set ON hash_set_history (set_id, id);
"""

POSTGRES = """
CREATE TABLE hash_set_history (
    id BIGSERIAL PRIMARY KEY,
    set_id BIGINT NOT NULL,
    at TEXT NOT NULL,
    mode TEXT NOT NULL,
    file TEXT,
    sha256 TEXT,
    format TEXT,
    added BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    removed BIGINT NOT NULL DEFAULT 0,
    entries_after BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX hash_set_history_set ON hash_set_history (set_id, id);
"""


@dataclass(slots=True)
class HistoryEvent:
    """One change to a set: the mode, the source file's provenance and the counts."""

    mode: str
    file: str | None = None
    sha256: str | None = None
    format: str | None = None
    added: int = 0
    updated: int = 0
    removed: int = 0
    entries_after: int = 0
    at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as ``vigil hashset show --history --json`` prints it."""
        return {
            "at": self.at.isoformat() if self.at else None,
            "mode": self.mode,
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "entries_after": self.entries_after,
        }


class HashSetHistory:
    """The history rows of the sets in one database (writes in the caller's transaction)."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db

    def record(self, set_id: int, event: HistoryEvent) -> None:
        """Append ``event`` to the set's history (stamped now unless it has a time)."""
        at = event.at or datetime.now(UTC)
        self.db.execute(
            "INSERT INTO hash_set_history (set_id, at, mode, file, sha256, format, added, "
            "updated, removed, entries_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                set_id,
                at.isoformat(),
                event.mode,
                event.file,
                event.sha256,
                event.format,
                event.added,
                event.updated,
                event.removed,
                event.entries_after,
            ),
        )

    def events(self, set_id: int) -> list[HistoryEvent]:
        """The set's history, oldest first."""
        return [
            HistoryEvent(
                mode=mode,
                file=file,
                sha256=sha,
                format=fmt,
                added=int(added),
                updated=int(updated),
                removed=int(removed),
                entries_after=int(after),
                at=datetime.fromisoformat(at),
            )
            for at, mode, file, sha, fmt, added, updated, removed, after in self.db.execute(
                "SELECT at, mode, file, sha256, format, added, updated, removed, entries_after "
                "FROM hash_set_history WHERE set_id = ? ORDER BY id",
                (set_id,),
            )
        ]

    def move(self, old_set_id: int, new_set_id: int) -> None:
        """Carry a replaced set's history over to its new id."""
        self.db.execute(
            "UPDATE hash_set_history SET set_id = ? WHERE set_id = ?", (new_set_id, old_set_id)
        )

    def delete(self, set_id: int) -> None:
        """Forget a deleted set's history."""
        self.db.execute("DELETE FROM hash_set_history WHERE set_id = ?", (set_id,))
