"""Small sequential content ids for the HMA-compatible routes, never handed out twice.

HMA numbers bank content 1, 2, 3 ... across all banks, and clients keep those numbers
(in their own tables, in moderation queues). Vigil's entries are ``(set id, entry
number)`` pairs; this table gives each pair an HMA content id the first time the HMA
routes show it. The id column is ``AUTOINCREMENT`` on SQLite and ``BIGSERIAL`` on
PostgreSQL, so an id is never issued again, even after its set is deleted or its row
removed (an SQLite rowid without AUTOINCREMENT would re-issue the highest one). Set
ids are never reused either (migration 4) and entry numbers only grow within a set,
so a pair, too, names one entry for ever.

Deleting content through HMA's ``DELETE /c/bank/<b>/content/<id>`` retires its id
(``deleted_at``) and disables the entry for ever, in one transaction that also bumps
the service's change counter: entry numbers keep growing, which is what lets the
index pick up new entries by number alone (``vigil.services.catalog``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vigil.errors import StoreConflictError
from vigil.store.database import Database

SQLITE = """
CREATE TABLE hma_content_ids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    set_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    deleted_at TEXT,
    UNIQUE (set_id, entry_no)
)
"""

POSTGRES = """
CREATE TABLE hma_content_ids (
    id BIGSERIAL PRIMARY KEY,
    set_id BIGINT NOT NULL,
    entry_no BIGINT NOT NULL,
    deleted_at TEXT,
    UNIQUE (set_id, entry_no)
)
"""

#: How many pairs one SELECT asks about (well under SQLite's 32,766 variables).
_CHUNK = 400


class ContentIdRepository:
    """HMA content ids of store entries, over one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db

    def assign(self, set_id: int, entry_no: int) -> int:
        """The content id of an entry, issued now if it has none (retired ids included)."""
        return self.assign_many([(set_id, entry_no)])[(set_id, entry_no)]

    def assign_many(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """Content ids of many entries, issuing the missing ones in entry order.

        Read first and insert only what is missing: an ``INSERT ... ON CONFLICT DO
        NOTHING`` would burn a PostgreSQL sequence value on every conflict, leaving
        gaps where HMA has none. Two processes issuing an id for the same entry at once
        meet the unique constraint; the loser reads the winner's id.
        """
        wanted = sorted(set(keys))
        found = self._known(wanted)
        for key in wanted:
            if key in found:
                continue
            try:
                with self.db.transaction():
                    self.db.execute(
                        "INSERT INTO hma_content_ids (set_id, entry_no) VALUES (?, ?)", key
                    )
            except StoreConflictError:
                pass
            found.update(self._known([key]))
        return found

    def known(self, keys: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """Content ids already issued to these entries and not retired (no writes)."""
        return {k: v for k, v in self._known(sorted(set(keys)), live=True).items()}

    def _known(self, keys: list[tuple[int, int]], live: bool = False) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        alive = " AND deleted_at IS NULL" if live else ""
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            where = " OR ".join(["(set_id = ? AND entry_no = ?)"] * len(chunk))
            params = [v for key in chunk for v in key]
            for cid, set_id, entry_no in self.db.execute(
                f"SELECT id, set_id, entry_no FROM hma_content_ids WHERE ({where}){alive}",
                params,
            ):
                out[(int(set_id), int(entry_no))] = int(cid)
        return out

    def locate(self, content_id: int) -> tuple[int, int] | None:
        """``(set_id, entry_no)`` of a live content id whose entry still exists, else None."""
        rows = self.db.execute(
            "SELECT c.set_id, c.entry_no FROM hma_content_ids c JOIN hash_entries e "
            "ON e.set_id = c.set_id AND e.entry_no = c.entry_no "
            "WHERE c.id = ? AND c.deleted_at IS NULL",
            (content_id,),
        )
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def retire(self, content_id: int, set_id: int, by: str = "") -> int:
        """Delete content as HMA does: 1 if ``content_id`` was live in set ``set_id``, else 0.

        The id is retired for good and the entry disabled for ever (it stops matching
        in every serving process within a poll interval).
        """
        now = datetime.now(UTC).isoformat()
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT entry_no FROM hma_content_ids "
                "WHERE id = ? AND set_id = ? AND deleted_at IS NULL",
                (content_id, set_id),
            )
            if not rows:
                return 0
            entry_no = int(rows[0][0])
            self.db.execute(
                "UPDATE hma_content_ids SET deleted_at = ? WHERE id = ?", (now, content_id)
            )
            self.db.execute(
                "DELETE FROM entry_disabled WHERE set_id = ? AND entry_no = ?", (set_id, entry_no)
            )
            self.db.execute(
                "INSERT INTO entry_disabled (set_id, entry_no, until, at, by_key) "
                "VALUES (?, ?, NULL, ?, ?)",
                (set_id, entry_no, now, by or "hma delete"),
            )
            self.db.execute("UPDATE service_changes SET generation = generation + 1 WHERE id = 1")
        return 1

    def set_note(self, set_id: int, entry_no: int, note: str | None) -> bool:
        """Replace an entry's note (None or "" removes it); False if there is no entry.

        A note does not change matching, so the change counter is left alone.
        """
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT meta FROM hash_entries WHERE set_id = ? AND entry_no = ?",
                (set_id, entry_no),
            )
            if not rows:
                return False
            meta: dict[str, Any] = json.loads(rows[0][0]) if rows[0][0] else {}
            if note:
                meta["comments"] = note
            else:
                meta.pop("comments", None)
            self.db.execute(
                "UPDATE hash_entries SET meta = ? WHERE set_id = ? AND entry_no = ?",
                (
                    json.dumps(meta, ensure_ascii=False, separators=(",", ":")) if meta else None,
                    set_id,
                    entry_no,
                ),
            )
        return True
