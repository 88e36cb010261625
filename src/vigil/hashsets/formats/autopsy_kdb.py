"""Autopsy / The Sleuth Kit SQLite hash databases (``.kdb``).

What ``hfind -c NAME.kdb`` creates and Autopsy keeps its local hash sets in (TSK's
``tsk/hashdb/sqlite_hdb.cpp``, schema version 1):

- ``db_properties(name, value)`` with ``('Schema Version', '1')``;
- ``hashes(id INTEGER PRIMARY KEY AUTOINCREMENT, md5 BINARY(16) UNIQUE, sha1
  BINARY(20), sha2_256 BINARY(32))``, digests as raw blobs (TSK fills only ``md5``);
- ``file_names(name, hash_id)`` and ``comments(comment, hash_id)``, many per hash;
- the index ``md5_index ON hashes(md5)``.

An entry is one ``hashes`` row with its file names and comments (several comments are
joined with newlines on import and split again on export). TSK looks hashes up by
MD5 only: an entry without an MD5 is not written, as ``hfind`` could never find it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import HashSetError, UsageError, describe
from vigil.hashsets.formats.base import HashSetFormat, ReadContext
from vigil.hashsets.formats.sqlite_reader import SQLITE_READ_ERRORS, SqliteReader
from vigil.hashsets.model import Entry, HashSetInfo, Rejected

SQLITE_MAGIC = b"SQLite format 3\x00"
SCHEMA = """
CREATE TABLE db_properties (name TEXT NOT NULL, value TEXT);
INSERT INTO db_properties (name, value) VALUES ('Schema Version', '1');
CREATE TABLE hashes (id INTEGER PRIMARY KEY AUTOINCREMENT, md5 BINARY(16) UNIQUE,
  sha1 BINARY(20), sha2_256 BINARY(32));
CREATE TABLE file_names (name TEXT NOT NULL, hash_id INTEGER NOT NULL,
  PRIMARY KEY(name, hash_id));
CREATE TABLE comments (comment TEXT NOT NULL, hash_id INTEGER NOT NULL,
  PRIMARY KEY(comment, hash_id));
CREATE INDEX md5_index ON hashes(md5);
"""
_BATCH = 10_000
_SIZES = {"md5": 16, "sha1": 20, "sha2_256": 32}


#: The tables a hash database is read from; views and virtual tables are never queried.
_TABLES = ("HASHES", "FILE_NAMES", "COMMENTS", "DB_PROPERTIES")


def is_kdb(path: Path) -> bool:
    """Whether ``path`` is a SQLite database with TSK's ``hashes`` and ``db_properties``."""
    try:
        with SqliteReader(path) as reader:
            tables = reader.tables()
    except SQLITE_READ_ERRORS:
        return False
    return "HASHES" in tables and "DB_PROPERTIES" in tables


def _texts(array: object) -> list[str]:
    """A ``json_group_array`` of names or comments as text (SQLite stores any type)."""
    items = json.loads(array) if isinstance(array, str) else []
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def _hex(value: object, column: str, row: int) -> str | None:
    """A stored digest as lower-case hex; ValueError names a wrong type or size."""
    if value is None:
        return None
    if isinstance(value, str):  # some tools stored hex text; accept it if it is hex
        value = bytes.fromhex(value)
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"{column} is a {type(value).__name__}, not a digest blob")
    raw = bytes(value)
    if len(raw) != _SIZES[column]:
        raise ValueError(f"{column} is {len(raw)} bytes, expected {_SIZES[column]}")
    return raw.hex()


class AutopsyKdbFormat(HashSetFormat):
    """Autopsy / TSK SQLite hash database."""

    name = "autopsy-kdb"
    title = "Autopsy / Sleuth Kit SQLite hash database (.kdb, 'hfind -c')"
    writes_path = True

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """100 for a SQLite file with TSK's hash-database tables, else 0."""
        return 100 if head.startswith(SQLITE_MAGIC) and is_kdb(path) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Every ``hashes`` row in id order, with its file names and comments."""
        if not is_kdb(ctx.path):
            yield Rejected(
                ctx.at("hashes"), "not a TSK hash database (hashes, db_properties)", True
            )
            return
        try:
            reader = SqliteReader(ctx.path, ctx.limits)
        except SQLITE_READ_ERRORS as exc:
            yield Rejected(ctx.at("hashes"), f"not a readable SQLite database: {exc}", True)
            return
        db = reader.db
        try:
            tables = reader.tables()
            not_tables = [t.lower() for t in _TABLES if tables.get(t, "table") != "table"]
            if not_tables or tables.get("FILE_NAMES") is None or tables.get("COMMENTS") is None:
                what = ", ".join(not_tables) or "file_names or comments missing"
                yield Rejected(
                    ctx.at("hashes"), f"not a TSK hash database: {what} (tables only)", True
                )
                return
            row = db.execute(
                "SELECT value FROM db_properties WHERE name = 'Schema Version'"
            ).fetchone()
            ctx.version = f"TSK hash database schema {row[0]}" if row else None
            ctx.total = 0
            cursor = db.execute(
                "SELECT h.id, h.md5, h.sha1, h.sha2_256, "
                "(SELECT json_group_array(name) FROM "
                " (SELECT name FROM file_names WHERE hash_id = h.id ORDER BY rowid)), "
                "(SELECT json_group_array(comment) FROM "
                " (SELECT comment FROM comments WHERE hash_id = h.id ORDER BY rowid)) "
                "FROM hashes h ORDER BY h.id"
            )
            count = 0
            while rows := cursor.fetchmany(_BATCH):
                reader.alive()
                for hash_id, md5, sha1, sha256, names, comments in rows:
                    count += 1
                    try:
                        entry = Entry(
                            md5=_hex(md5, "md5", hash_id),
                            sha1=_hex(sha1, "sha1", hash_id),
                            sha256=_hex(sha256, "sha2_256", hash_id),
                        )
                    except ValueError as exc:
                        yield Rejected(ctx.at(f"hashes id {hash_id}"), describe(exc))
                        continue
                    if entry.md5 is None and entry.sha1 is None and entry.sha256 is None:
                        yield Rejected(ctx.at(f"hashes id {hash_id}"), "a row with no hash")
                        continue
                    entry.file_names = tuple(_texts(names))
                    texts = _texts(comments)
                    entry.comments = "\n".join(texts) if texts else None
                    yield entry
                ctx.position = count
        except SQLITE_READ_ERRORS as exc:
            raise HashSetError(
                f"{ctx.name}: reading the hash database failed: {describe(exc)}"
            ) from exc
        finally:
            reader.close()

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """A new ``.kdb`` at ``out`` (a path that must not exist); entries without MD5 skipped.

        Two entries with the same MD5 become one row holding both's names and comments,
        as TSK's ``md5 UNIQUE`` requires.
        """
        if not isinstance(out, Path):
            raise UsageError("an Autopsy .kdb export is a database: give --out FILE")
        if out.exists():
            raise UsageError(f"{out} exists: a .kdb export writes a new database")
        db = sqlite3.connect(out)
        try:
            db.execute("PRAGMA page_size = 4096")
            db.executescript(SCHEMA)
            count = 0
            for entry in entries:
                if entry.md5 is None:
                    continue
                count += 1
                md5 = bytes.fromhex(entry.md5)
                db.execute(
                    "INSERT INTO hashes (md5, sha1, sha2_256) VALUES (?, ?, ?) "
                    "ON CONFLICT (md5) DO NOTHING",
                    (
                        md5,
                        bytes.fromhex(entry.sha1) if entry.sha1 else None,
                        bytes.fromhex(entry.sha256) if entry.sha256 else None,
                    ),
                )
                (hash_id,) = db.execute("SELECT id FROM hashes WHERE md5 = ?", (md5,)).fetchone()
                db.executemany(
                    "INSERT OR IGNORE INTO file_names (name, hash_id) VALUES (?, ?)",
                    [(name, hash_id) for name in entry.file_names],
                )
                if entry.comments:
                    db.executemany(
                        "INSERT OR IGNORE INTO comments (comment, hash_id) VALUES (?, ?)",
                        [(c, hash_id) for c in entry.comments.split("\n") if c],
                    )
            db.commit()
        except BaseException:
            db.close()
            out.unlink(missing_ok=True)
            raise
        db.close()
        return count
