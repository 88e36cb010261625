"""Changing hash sets one entry at a time, as the service's curators do.

Imports (``HashSetRepository.replace``) write a whole set at once; a curator adds one
entry, disables one, renames a set or sets its PDQ threshold. Each such write runs in
one transaction that also bumps the change counter (``service_changes``), which is how
every serving process learns of it within a second (``vigil.web.freshness``).

Entries are never deleted one by one: a disabled entry stays, so entry numbers only
grow and the PDQ index can pick up a set's new entries by entry number alone.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from vigil.errors import StoreConflictError, UnknownHashSetError, UsageError
from vigil.hashsets.model import HashSetInfo, HashSetKind
from vigil.signals import SIGNAL_TYPES
from vigil.store.database import Database
from vigil.store.hashsets import HashSetRepository

#: Set names the service accepts: printable, no slashes (they are URL path segments).
SET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,99}$")
MAX_PDQ_THRESHOLD = 128
MAX_NOTE = 1000


class UnknownEntryError(UnknownHashSetError):
    """No entry of that number in the set."""


def check_set_name(name: str) -> str:
    """``name`` if the service accepts it as a set name, else UsageError."""
    if not isinstance(name, str) or not SET_NAME.fullmatch(name):
        raise UsageError(
            f"invalid hash set name {str(name)[:120]!r}: 1-100 characters, letters, digits, "
            "'_', '.', '-' or spaces, not starting with a space, dot or dash"
        )
    return name


class Curation:
    """Entry-level writes and the change counter, over one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db
        self.sets = HashSetRepository(db)

    # -- the change counter ----------------------------------------------------------

    def version(self) -> str:
        """A token that changes whenever a set or entry changes (service or CLI)."""
        gen = self.db.execute("SELECT generation FROM service_changes WHERE id = 1")
        summary = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(entry_count), 0), COALESCE(MAX(imported_at), ''), "
            "COALESCE(SUM(id), 0) FROM hash_sets"
        )[0]
        return f"{gen[0][0] if gen else 0}/{'/'.join(str(v) for v in summary)}"

    def _bump(self) -> None:
        self.db.execute("UPDATE service_changes SET generation = generation + 1 WHERE id = 1")

    # -- sets ------------------------------------------------------------------------

    def create_set(
        self,
        name: str,
        kind: HashSetKind = HashSetKind.alert,
        attributes: dict[str, Any] | None = None,
        provenance: str | None = None,
    ) -> HashSetInfo:
        """Create an empty set; UsageError if the name is taken or invalid.

        Created by one insert that does nothing when the name is taken: of several
        callers racing for one name exactly one succeeds, and no existing set (or
        the entries just added to it) is ever dropped.
        """
        check_set_name(name)
        info = HashSetInfo(
            name=name,
            kind=kind,
            provenance=provenance,
            source_format="service",
            attributes=dict(attributes or {}),
        )
        with self.db.transaction():
            created = self.sets.create(info)
            if created is None:
                raise UsageError(f"a hash set named {name!r} exists")
            self._bump()
        return created

    def rename_set(self, name: str, new_name: str) -> HashSetInfo:
        """Rename a set (its entries and index rows keep their set id)."""
        check_set_name(new_name)
        try:
            with self.db.transaction():
                info = self.sets.require(name, lock=True)
                if new_name != name and self.sets.get(new_name) is not None:
                    raise UsageError(f"a hash set named {new_name!r} exists")
                self.db.execute("UPDATE hash_sets SET name = ? WHERE id = ?", (new_name, info.id))
                self._bump()
        except StoreConflictError as exc:  # another writer took the name meanwhile
            raise UsageError(f"a hash set named {new_name!r} exists") from exc
        return self.sets.require(new_name)

    def update_attributes(self, name: str, changes: dict[str, Any]) -> HashSetInfo:
        """Merge ``changes`` into the set's attributes (a None value removes the key)."""
        threshold = changes.get("pdq_threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int)
            or not 0 <= threshold <= MAX_PDQ_THRESHOLD
        ):
            raise UsageError(f"pdq_threshold must be an integer from 0 to {MAX_PDQ_THRESHOLD}")
        with self.db.transaction():
            info = self.sets.require(name, lock=True)
            attributes = dict(info.attributes or {})
            for key, value in changes.items():
                if value is None:
                    attributes.pop(key, None)
                else:
                    attributes[key] = value
            self.db.execute(
                "UPDATE hash_sets SET attributes = ? WHERE id = ?",
                (json.dumps(attributes, ensure_ascii=False) if attributes else None, info.id),
            )
            self._bump()
        return self.sets.require(name)

    def delete_set(self, name: str) -> bool:
        """Delete a set, its entries and their disabled marks; False if there was none."""
        with self.db.transaction():
            if not self.sets.delete(name):
                return False
            self._bump()
        return True

    # -- entries ---------------------------------------------------------------------

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
        if not hashes:
            raise UsageError("an entry needs at least one hash")
        unknown = sorted(set(hashes) - set(SIGNAL_TYPES))
        if unknown:
            raise UsageError(f"hash types {unknown} cannot be stored")
        if note is not None and len(note) > MAX_NOTE:
            raise UsageError(f"note must be at most {MAX_NOTE} characters")
        meta: dict[str, Any] = {}
        if note:
            meta["comments"] = note
        if metadata:
            meta["extra"] = {"metadata": metadata}
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        with self.db.transaction():
            rows = self.db.execute(f"SELECT id FROM hash_sets WHERE name = ?{lock}", (name,))
            if not rows:
                raise UnknownHashSetError(f"no hash set named {name!r}")
            set_id = int(rows[0][0])
            top = self.db.execute(
                "SELECT MAX(entry_no) FROM hash_entries WHERE set_id = ?", (set_id,)
            )[0][0]
            entry_no = 0 if top is None else int(top) + 1
            meta_json = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))
            self.sets.append_entries(
                set_id, [(entry_no, dict(hashes), category, meta_json if meta else None)]
            )
            self.db.execute(
                "UPDATE hash_sets SET entry_count = entry_count + 1 WHERE id = ?", (set_id,)
            )
            self._bump()
        return self.sets.require(name), entry_no

    def entry(self, name: str, entry_no: int) -> dict[str, Any]:
        """One entry as a JSON-ready dict (hashes, category, note, metadata, disabled)."""
        info = self.sets.require(name)
        rows = list(self.sets.entry_rows(int(info.id or 0), entry_no))
        if not rows:
            raise UnknownEntryError(f"hash set {name!r} has no entry {entry_no}")
        _no, signals, category, meta = rows[0]
        meta_dict = json.loads(meta) if meta else {}
        disabled = self.db.execute(
            "SELECT until FROM entry_disabled WHERE set_id = ? AND entry_no = ?",
            (info.id, entry_no),
        )
        until = disabled[0][0] if disabled else None
        return {
            "hashset": info.name,
            "entry": entry_no,
            "signals": signals,
            "category": category,
            "note": meta_dict.get("comments"),
            "metadata": (meta_dict.get("extra") or {}).get("metadata"),
            "disabled": bool(disabled) and (until is None or until > time.time()),
            "disabled_until": until,
        }

    def set_disabled(
        self, name: str, entry_no: int, disabled: bool, until: float | None = None, by: str = ""
    ) -> dict[str, Any]:
        """Disable an entry (for ever, or until the Unix time ``until``) or enable it."""
        with self.db.transaction():
            info = self.sets.require(name, lock=True)
            if not self.db.execute(
                "SELECT 1 FROM hash_entries WHERE set_id = ? AND entry_no = ?",
                (info.id, entry_no),
            ):
                raise UnknownEntryError(f"hash set {name!r} has no entry {entry_no}")
            self.db.execute(
                "DELETE FROM entry_disabled WHERE set_id = ? AND entry_no = ?",
                (info.id, entry_no),
            )
            if disabled:
                self.db.execute(
                    "INSERT INTO entry_disabled (set_id, entry_no, until, at, by_key) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (info.id, entry_no, until, datetime.now(UTC).isoformat(), by),
                )
            self._bump()
        return self.entry(name, entry_no)

    def disabled(self) -> dict[tuple[int, int], float | None]:
        """Every disabled entry ``(set_id, entry_no)`` with the time it is disabled until."""
        return {
            (int(s), int(e)): (float(u) if u is not None else None)
            for s, e, u in self.db.execute("SELECT set_id, entry_no, until FROM entry_disabled")
        }
