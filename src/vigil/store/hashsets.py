"""The hash-set repository: store, list, read back, count, delete and look up sets.

Layout (migration 1): ``hash_sets`` has one row per set; ``hash_entries`` one row per
entry, keyed ``(set_id, entry_no)`` so that a set's entries are contiguous and read
back in file order; ``hash_index`` one row per exact digest, keyed ``(hash_type,
digest, set_id, entry_no)``, which is the lookup index. Digests are raw bytes
(16 bytes for an MD5 rather than 32 hex characters).

Speed: entries are appended in file order (cheap), and the index rows of a new set
are made in key order, sorted by the database or by numpy (see ``bulkload``),
never by inserting 10 million random keys one by one. A batch lookup asks for sorted chunks
of 500 digests with ``IN (...)`` (SQLite), or joins an array of all the digests in one
statement (PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo, HashSetKind
from vigil.store.bulkload import HASH_TYPE_CODES, BulkLoader
from vigil.store.database import Database

_CODE_TYPES = {code: name for name, code in HASH_TYPE_CODES.items()}
#: Digests per ``IN (...)`` list of a SQLite lookup.
_IN_CHUNK = 500
_SET_COLUMNS = (
    "id, name, kind, category_profile, provenance, version, source_format, "
    "source_sha256, imported_at, entry_count, attributes"
)


@dataclass(frozen=True, slots=True)
class Match:
    """One hit of a lookup: the queried hash, the set that holds it, the entry's category."""

    hash_type: str
    hash: str
    set_name: str
    kind: HashSetKind
    category: str | None
    category_profile: str | None
    entry_no: int


class HashSetRepository:
    """Hash sets in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (already migrated)."""
        self.db = db

    # -- sets ----------------------------------------------------------------------

    def get(self, name: str) -> HashSetInfo | None:
        """The set called ``name``, or None."""
        rows = self.db.execute(f"SELECT {_SET_COLUMNS} FROM hash_sets WHERE name = ?", (name,))
        return _info(rows[0]) if rows else None

    def require(self, name: str) -> HashSetInfo:
        """The set called ``name``, or UnknownHashSetError."""
        info = self.get(name)
        if info is None:
            raise UnknownHashSetError(f"no hash set named {name!r}")
        return info

    def list(self) -> list[HashSetInfo]:
        """All sets, by name."""
        return [
            _info(r) for r in self.db.execute(f"SELECT {_SET_COLUMNS} FROM hash_sets ORDER BY name")
        ]

    def replace(
        self,
        info: HashSetInfo,
        entries: Iterable[Entry | DigestBlock],
        finish: Callable[[HashSetInfo], None] | None = None,
    ) -> HashSetInfo:
        """Store ``entries`` as the set ``info.name``, replacing any set of that name.

        All in one transaction: on any error or interruption the store is as before.
        ``finish`` runs after the entries are read and before the commit, so that
        what a reader learnt at the end of a file (case record, version) is stored.
        """
        with self.db.bulk_mode(), self.db.transaction():
            old = self.get(info.name)
            if old is not None and old.id is not None:
                self._delete(old.id)
            imported_at = info.imported_at or datetime.now(UTC)
            self.db.execute(
                "INSERT INTO hash_sets (name, kind, imported_at, entry_count) VALUES (?, ?, ?, 0)",
                (info.name, str(info.kind), imported_at.isoformat()),
            )
            set_id = int(
                self.db.execute("SELECT id FROM hash_sets WHERE name = ?", (info.name,))[0][0]
            )
            loader = BulkLoader(self.db, set_id)
            count = loader.load(entries)
            loader.build_index()
            if finish is not None:
                finish(info)
            self.db.execute(
                "UPDATE hash_sets SET kind = ?, category_profile = ?, provenance = ?, "
                "version = ?, source_format = ?, source_sha256 = ?, entry_count = ?, "
                "attributes = ? WHERE id = ?",
                (
                    str(info.kind),
                    info.category_profile,
                    info.provenance,
                    info.version,
                    info.source_format,
                    info.source_sha256,
                    count,
                    json.dumps(info.attributes, ensure_ascii=False) if info.attributes else None,
                    set_id,
                ),
            )
        return self.require(info.name)

    def delete(self, name: str) -> bool:
        """Delete the set called ``name``; False if there was none."""
        with self.db.transaction():
            info = self.get(name)
            if info is None or info.id is None:
                return False
            self._delete(info.id)
        return True

    def _delete(self, set_id: int) -> None:
        for hash_type, code in HASH_TYPE_CODES.items():
            self.db.execute(
                f"DELETE FROM hash_index WHERE hash_type = {code} AND set_id = ? AND digest IN "
                f"(SELECT {hash_type} FROM hash_entries WHERE set_id = ? "
                f"AND {hash_type} IS NOT NULL)",
                (set_id, set_id),
            )
        self.db.execute("DELETE FROM hash_entries WHERE set_id = ?", (set_id,))
        self.db.execute("DELETE FROM hash_sets WHERE id = ?", (set_id,))

    # -- entries -------------------------------------------------------------------

    def entries(self, name: str) -> Iterator[Entry]:
        """The set's entries in their original order, streamed."""
        info = self.require(name)
        rows = self.db.stream(
            "SELECT md5, sha1, sha256, pdq, vpdq, category, meta FROM hash_entries "
            "WHERE set_id = ? ORDER BY entry_no",
            (info.id,),
        )
        for md5, sha1, sha256, pdq, vpdq, category, meta in rows:
            hashes: dict[str, Any] = {
                "md5": bytes(md5).hex() if md5 is not None else None,
                "sha1": bytes(sha1).hex() if sha1 is not None else None,
                "sha256": bytes(sha256).hex() if sha256 is not None else None,
                "pdq": bytes(pdq).hex() if pdq is not None else None,
                "vpdq": vpdq,
                "category": category,
            }
            yield Entry.from_metadata(json.loads(meta) if meta else {}, **hashes)

    def counts(self, name: str) -> tuple[dict[str, int], dict[str | None, int]]:
        """Entries holding each hash type, and entries per category."""
        info = self.require(name)
        row = self.db.execute(
            "SELECT COUNT(md5), COUNT(sha1), COUNT(sha256), COUNT(pdq), COUNT(vpdq), "
            "SUM(CASE WHEN meta LIKE ? THEN 1 ELSE 0 END) "
            "FROM hash_entries WHERE set_id = ?",
            ('%"photodna"%', info.id),
        )[0]
        by_type = dict(zip(("md5", "sha1", "sha256", "pdq", "vpdq", "photodna"), row, strict=True))
        by_type = {k: int(v or 0) for k, v in by_type.items() if v}
        categories = {
            category: int(n)
            for category, n in self.db.execute(
                "SELECT category, COUNT(*) FROM hash_entries WHERE set_id = ? "
                "GROUP BY category ORDER BY category",
                (info.id,),
            )
        }
        return by_type, categories

    # -- lookup --------------------------------------------------------------------

    def lookup(self, queries: Iterable[tuple[str, str]]) -> list[Match]:
        """Every set entry holding one of the ``(hash_type, canonical hex)`` queries.

        Matches come ordered by hash type (md5, sha1, sha256, pdq), digest, set, entry.
        """
        by_type: dict[int, set[bytes]] = {}
        for hash_type, value in queries:
            by_type.setdefault(HASH_TYPE_CODES[hash_type], set()).add(bytes.fromhex(value))
        if not by_type:
            return []
        rows: list[tuple[Any, ...]] = []
        for code in sorted(by_type):
            digests = sorted(by_type[code])
            if self.db.dialect == "postgres":
                rows += self.db.execute(
                    "SELECT h.hash_type, h.digest, h.set_id, h.entry_no, h.category "
                    "FROM unnest(?::bytea[]) AS q(digest) JOIN hash_index h "
                    "ON h.hash_type = ? AND h.digest = q.digest "
                    "ORDER BY h.digest, h.set_id, h.entry_no",
                    (digests, code),
                )
            else:
                rows += self._lookup_sqlite(code, digests)
        # One tuple of the set's fields per set, so each match is built without lookups.
        sets = {info.id: (info.name, info.kind, info.category_profile) for info in self.list()}
        types = _CODE_TYPES
        matches = [
            Match(types[code], digest.hex(), name, kind, category, profile, entry_no)
            for code, digest, set_id, entry_no, category in rows
            for name, kind, profile in (sets[set_id],)
        ]
        return matches

    def _lookup_sqlite(self, code: int, digests: list[bytes]) -> list[tuple[Any, ...]]:
        """``digest IN (...)`` over sorted chunks of ``_IN_CHUNK`` digests.

        Measured on a 10 M-entry set: 2.5-3 times faster than one prepared SELECT per
        digest, and faster still than joining a temporary table of the queries (filling
        it costs more than the seeks it saves). SQLite seeks the values of an IN list in
        order, so the B-tree pages just read stay in cache.
        """
        rows: list[tuple[Any, ...]] = []
        head = (
            "SELECT hash_type, digest, set_id, entry_no, category FROM hash_index "
            "WHERE hash_type = ? AND digest IN "
        )
        full = head + "(" + ", ".join("?" * _IN_CHUNK) + ")"
        for start in range(0, len(digests), _IN_CHUNK):
            chunk = digests[start : start + _IN_CHUNK]
            sql = (
                full if len(chunk) == _IN_CHUNK else head + "(" + ", ".join("?" * len(chunk)) + ")"
            )
            rows += self.db.execute(sql, (code, *chunk))
        return rows


def _info(row: tuple[Any, ...]) -> HashSetInfo:
    (set_id, name, kind, profile, provenance, version, fmt, sha, imported, count, attrs) = row
    return HashSetInfo(
        name=name,
        kind=HashSetKind(kind),
        category_profile=profile,
        provenance=provenance,
        version=version,
        source_format=fmt,
        source_sha256=sha,
        imported_at=datetime.fromisoformat(imported) if isinstance(imported, str) else imported,
        entry_count=int(count),
        id=int(set_id),
        attributes=json.loads(attrs) if attrs else {},
    )
