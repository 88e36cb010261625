"""NIST NSRL RDS v3: a SQLite database of known software files, imported as ``ignore``.

RDS v3 ships one SQLite file per edition (modern, android, ios, legacy; minimal or
full) with the tables ``FILE(sha256, sha1, md5, crc32, file_name, file_size,
package_id)``, ``PKG``, ``OS``, ``MFG`` and ``VERSION``, and the view ``DISTINCT_HASH``
(the distinct ``sha256, sha1, md5, crc32`` of ``FILE``). A lookup needs the digests
only, so Vigil reads the distinct digests of ``FILE`` (the view's own query, run on
the table: a file's views are untrusted SQL) and copies neither file names, sizes,
package rows nor CRC-32s: the modern minimal edition's ~441.6 M ``FILE`` rows become
~73.8 M entries. ``FILE``'s primary key begins with the digests, so SQLite serves the
``DISTINCT`` from that index without a sort or a temporary table.

A hit against an NSRL set means "a known file", never "a harmless file".
The writer makes an RDS v3 database with the same schema (one ``FILE`` row per entry
and file name), so an ignore list can go back to tools that read RDS.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from vigil.errors import HashSetError, InvalidHashError, UsageError, describe
from vigil.hashsets.formats.base import HashSetFormat, ReadContext
from vigil.hashsets.formats.sqlite_reader import SQLITE_READ_ERRORS, SqliteReader
from vigil.hashsets.model import (
    DigestBlock,
    Entry,
    HashSetInfo,
    HashSetKind,
    Rejected,
    canonical_hash,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
#: The RDS v3 schema, as NIST's schema.sql defines it.
SCHEMA = """
CREATE TABLE MFG (
 manufacturer_id INTEGER NOT NULL,
 name VARCHAR NOT NULL,
 CONSTRAINT PK_MFG__MFG_ID PRIMARY KEY (manufacturer_id)
);
CREATE TABLE OS (
 operating_system_id INTEGER NOT NULL,
 name VARCHAR NOT NULL,
 version VARCHAR NOT NULL,
 manufacturer_id INTEGER NOT NULL,
 CONSTRAINT PK_OS__OS_ID PRIMARY KEY (operating_system_id, manufacturer_id)
);
CREATE TABLE PKG (
 package_id INTEGER NOT NULL,
 name VARCHAR NOT NULL,
 version VARCHAR NOT NULL,
 operating_system_id INTEGER NOT NULL,
 manufacturer_id INTEGER NOT NULL,
 language VARCHAR NOT NULL,
 application_type VARCHAR NOT NULL,
 CONSTRAINT PK_PGK__PKG_ID PRIMARY KEY
  (package_id, operating_system_id, manufacturer_id, language, application_type)
);
CREATE TABLE VERSION (
 version VARCHAR UNIQUE NOT NULL,
 build_set VARCHAR NOT NULL,
 build_date TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
 release_date TIMESTAMP NOT NULL,
 description VARCHAR NOT NULL,
 CONSTRAINT PK_VERSION__VERSION PRIMARY KEY (version)
);
CREATE TABLE FILE (
 sha256 VARCHAR NOT NULL,
 sha1 VARCHAR NOT NULL,
 md5 VARCHAR NOT NULL,
 crc32 VARCHAR NOT NULL,
 file_name VARCHAR NOT NULL,
 file_size INTEGER NOT NULL,
 package_id INTEGER NOT NULL,
 CONSTRAINT PK_FILE__FILE PRIMARY KEY
  (sha256, sha1, md5, crc32, file_name, file_size, package_id)
);
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
"""
_BATCH = 10_000


#: The query Vigil runs instead of the file's own ``DISTINCT_HASH`` view: the same
#: rows, over the real ``FILE`` table (a file's views are its author's SQL, see below).
DISTINCT_QUERY = 'SELECT DISTINCT sha256, sha1, md5, crc32 FROM main."FILE"'


def is_rds(path: Path) -> bool:
    """Whether ``path`` is a SQLite database with RDS v3's FILE table and DISTINCT_HASH view."""
    try:
        with SqliteReader(path) as reader:
            tables = reader.tables()
    except SQLITE_READ_ERRORS:
        return False
    return tables.get("FILE") == "table" and tables.get("DISTINCT_HASH") == "view"


class NsrlFormat(HashSetFormat):
    """NIST NSRL RDS v3 SQLite."""

    name = "nsrl"
    title = "NIST NSRL RDS v3 SQLite database (imported as an ignore set)"
    default_kind = HashSetKind.ignore
    writes_path = True

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """100 for an RDS v3 database, else 0."""
        return 100 if head.startswith(SQLITE_MAGIC) and is_rds(path) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """The distinct digest triples of the ``FILE`` table, nothing else.

        An RDS file is untrusted input (issue 19): a view is SQL its author wrote, and
        an endless or ``zeroblob`` view ran as ``DISTINCT_HASH`` or ``VERSION``. Vigil
        reads real tables only (``FILE`` and ``VERSION``), computes the distinct
        digests itself with the view's own definition, and reads through
        ``SqliteReader``'s limits (cell size, stall time, cache).
        """
        try:
            reader = SqliteReader(ctx.path, ctx.limits)
        except SQLITE_READ_ERRORS as exc:
            yield Rejected(ctx.at("FILE"), f"not a readable SQLite database: {exc}", True)
            return
        try:
            tables = reader.tables()
            if tables.get("FILE") != "table":
                what = tables.get("FILE")
                yield Rejected(
                    ctx.at("FILE"),
                    "not an RDS v3 database: no FILE table"
                    + (f" (FILE is a {what}, not a table)" if what else ""),
                    True,
                )
                return
            if tables.get("VERSION") == "table":
                self._learn_version(ctx, reader.db)
            ctx.total = 0  # the number of distinct rows is unknown until the end
            cursor = reader.db.execute(DISTINCT_QUERY)
            row_number = 0
            while rows := cursor.fetchmany(_BATCH):
                reader.alive()
                block = _digest_block(rows)
                if block is not None:  # every row three well-formed digests: no Entry each
                    yield block
                    row_number += len(rows)
                    ctx.position = row_number
                    continue
                for sha256, sha1, md5, _crc32 in rows:
                    row_number += 1
                    where = ctx.at(f"FILE distinct row {row_number}")
                    try:
                        entry = Entry(
                            md5=_digest("md5", md5),
                            sha1=_digest("sha1", sha1),
                            sha256=_digest("sha256", sha256),
                        )
                    except InvalidHashError as exc:
                        yield Rejected(where, str(exc))
                        continue
                    if not entry.signals:
                        yield Rejected(where, "a row with no digest")
                        continue
                    yield entry
                ctx.position = row_number
        except SQLITE_READ_ERRORS as exc:
            stalled = isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc)
            reason = (
                f"a query produced no row for {ctx.limits.max_sqlite_stall_seconds:g} s"
                if stalled
                else describe(exc)
            )
            raise HashSetError(f"{ctx.name}: reading the RDS failed: {reason}") from exc
        finally:
            reader.close()

    @staticmethod
    def _learn_version(ctx: ReadContext, db: sqlite3.Connection) -> None:
        try:
            row = db.execute(
                "SELECT version, build_set, build_date, release_date, description "
                'FROM main."VERSION"'
            ).fetchone()
        except SQLITE_READ_ERRORS:
            row = None
        if row:
            keys = ("version", "build_set", "build_date", "release_date", "description")
            values = [_version_text(v) for v in row]
            ctx.attributes["nsrl_version"] = dict(zip(keys, values, strict=True))
            ctx.version = f"RDS {values[0]}"
            ctx.attributes["nsrl_identity"] = "|".join(str(v) for v in values)

    def source_identity(self, path: Path) -> str:
        """An RDS's release row and size, not a digest of the whole file.

        Hashing a 100 GB database to notice a re-import would cost minutes, and its
        VERSION row names a release just as well. Only a real VERSION table is read.
        """
        rows: list[object] = []
        try:
            with SqliteReader(path) as reader:
                if reader.tables().get("VERSION") == "table":
                    rows = reader.db.execute('SELECT * FROM main."VERSION" LIMIT 16').fetchall()
        except SQLITE_READ_ERRORS:
            rows = []
        return "rds:" + hashlib.sha256(f"{rows!r}|{path.stat().st_size}".encode()).hexdigest()

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """A new RDS v3 database at ``out`` (which must be a path, and must not exist)."""
        if not isinstance(out, Path):
            raise UsageError("an NSRL RDS export is a database: give --out FILE")
        if out.exists():
            raise UsageError(f"{out} exists: an RDS export writes a new database")
        version = info.attributes.get("nsrl_version") or {}
        db = sqlite3.connect(out)
        try:
            db.executescript(SCHEMA)
            db.execute(
                "INSERT INTO VERSION VALUES (?, ?, ?, ?, ?)",
                (
                    version.get("version") or info.version or info.name,
                    version.get("build_set") or "vigil",
                    version.get("build_date") or "",
                    version.get("release_date") or "",
                    version.get("description") or f"exported by Vigil from hash set {info.name}",
                ),
            )
            count = 0
            batch: list[tuple[str, str, str, str, str, int, int]] = []
            for entry in entries:
                count += 1
                for name in entry.file_names or ("",):
                    batch.append(
                        (
                            (entry.sha256 or "").upper(),
                            (entry.sha1 or "").upper(),
                            (entry.md5 or "").upper(),
                            "",
                            name,
                            entry.media_size or 0,
                            0,
                        )
                    )
                if len(batch) >= _BATCH:
                    db.executemany("INSERT OR IGNORE INTO FILE VALUES (?,?,?,?,?,?,?)", batch)
                    batch.clear()
            db.executemany("INSERT OR IGNORE INTO FILE VALUES (?,?,?,?,?,?,?)", batch)
            db.commit()
        finally:
            db.close()
        return count


def _version_text(value: object) -> str | int | float | None:
    """A VERSION cell as JSON-ready text (a blob there is shown as hex, never stored raw)."""
    if value is None or isinstance(value, (str, int, float)):
        return value[:300] if isinstance(value, str) else value
    if isinstance(value, bytes):
        return "x'" + value[:64].hex() + "'"
    return str(value)[:300]


def _digest(hash_type: str, value: object) -> str | None:
    """A FILE digest cell as canonical hex; None for an empty one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidHashError(f"{hash_type.upper()} is a {type(value).__name__}, not hex text")
    return canonical_hash(hash_type, value)


def _digest_block(rows: list[tuple[Any, ...]]) -> DigestBlock | None:
    """The rows as one DigestBlock (SHA-256 + SHA-1 + MD5) if all are well formed, else None.

    Lengths are checked per column and the hex of each column by one ``bytes.fromhex``
    in C; any doubt sends the batch down the row-by-row path, which names bad rows.
    """
    # Columns by itemgetter: ``zip(*rows)`` makes an iterator per row (5x slower).
    columns = [list(map(itemgetter(i), rows)) for i in range(3)]
    values = []
    for column, digits in zip(columns, (64, 40, 32), strict=True):
        if any(type(v) is not str for v in column) or set(map(len, column)) != {digits}:
            return None
        text = "".join(column)
        try:
            bytes.fromhex(text)
        except ValueError:
            return None
        values.append("\n".join(column).lower().split("\n"))
    return DigestBlock("sha256", values[0], others={"sha1": values[1], "md5": values[2]})
