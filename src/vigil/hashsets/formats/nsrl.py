"""NIST NSRL RDS v3: a SQLite database of known software files, imported as ``ignore``.

RDS v3 ships one SQLite file per edition (modern, android, ios, legacy; minimal or
full) with the tables ``FILE(sha256, sha1, md5, crc32, file_name, file_size,
package_id)``, ``PKG``, ``OS``, ``MFG`` and ``VERSION``, and the view ``DISTINCT_HASH``
(the distinct ``sha256, sha1, md5, crc32`` of ``FILE``). A lookup needs the digests
only, so Vigil reads ``DISTINCT_HASH`` and copies neither file names, sizes, package
rows nor CRC-32s: the modern minimal edition's ~441.6 M ``FILE`` rows become ~73.8 M
entries. ``FILE``'s primary key begins with the digests, so SQLite serves the view's
``DISTINCT`` from that index without a sort or a temporary table.

A hit against an NSRL set means "a known file", never "a harmless file".
The writer makes an RDS v3 database with the same schema (one ``FILE`` row per entry
and file name), so an ignore list can go back to tools that read RDS.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import HashSetError, InvalidHashError, UsageError
from vigil.hashsets.formats.base import HashSetFormat, ReadContext
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


def _connect(path: Path) -> sqlite3.Connection:
    """Open read-only and immutable: an evidence-grade reference file is never written."""
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True)


def is_rds(path: Path) -> bool:
    """Whether ``path`` is a SQLite database with RDS v3's FILE table and DISTINCT_HASH view."""
    try:
        with _connect(path) as db:
            names = {
                (t.lower(), n.upper())
                for t, n in db.execute("SELECT type, name FROM sqlite_master")
            }
    except sqlite3.Error:
        return False
    return ("table", "FILE") in names and ("view", "DISTINCT_HASH") in names


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
        """The distinct digest triples of ``DISTINCT_HASH``, nothing else."""
        if not is_rds(ctx.path):
            yield Rejected(ctx.at("FILE"), "not an RDS v3 database (FILE, DISTINCT_HASH)", True)
            return
        db = _connect(ctx.path)
        try:
            self._learn_version(ctx, db)
            ctx.total = 0  # the number of distinct rows is unknown until the end
            cursor = db.execute("SELECT sha256, sha1, md5 FROM DISTINCT_HASH")
            row_number = 0
            while rows := cursor.fetchmany(_BATCH):
                block = _digest_block(rows)
                if block is not None:  # every row three well-formed digests: no Entry each
                    yield block
                    row_number += len(rows)
                    ctx.position = row_number
                    continue
                for sha256, sha1, md5 in rows:
                    row_number += 1
                    try:
                        yield Entry(
                            md5=canonical_hash("md5", md5) if md5 else None,
                            sha1=canonical_hash("sha1", sha1) if sha1 else None,
                            sha256=canonical_hash("sha256", sha256) if sha256 else None,
                        )
                    except (InvalidHashError, TypeError) as exc:
                        yield Rejected(ctx.at(f"DISTINCT_HASH row {row_number}"), str(exc))
                ctx.position = row_number
        except sqlite3.Error as exc:
            raise HashSetError(f"{ctx.name}: reading the RDS failed: {exc}") from exc
        finally:
            db.close()

    @staticmethod
    def _learn_version(ctx: ReadContext, db: sqlite3.Connection) -> None:
        try:
            row = db.execute(
                "SELECT version, build_set, build_date, release_date, description FROM VERSION"
            ).fetchone()
        except sqlite3.Error:
            row = None
        if row:
            keys = ("version", "build_set", "build_date", "release_date", "description")
            ctx.attributes["nsrl_version"] = dict(zip(keys, row, strict=True))
            ctx.version = f"RDS {row[0]}"
            ctx.attributes["nsrl_identity"] = "|".join(str(v) for v in row)

    def source_identity(self, path: Path) -> str:
        """An RDS's release row and size, not a digest of the whole file.

        Hashing a 100 GB database to notice a re-import would cost minutes, and its
        VERSION row names a release just as well.
        """
        try:
            uri = f"file:{path.resolve()}?mode=ro&immutable=1"
            with sqlite3.connect(uri, uri=True) as db:
                row = db.execute("SELECT * FROM VERSION").fetchall()
        except sqlite3.Error:
            row = []
        return "rds:" + hashlib.sha256(f"{row!r}|{path.stat().st_size}".encode()).hexdigest()

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


def _digest_block(rows: list[tuple[str, str, str]]) -> DigestBlock | None:
    """The rows as one DigestBlock (SHA-256 + SHA-1 + MD5) if all are well formed, else None.

    Lengths are checked per column and the hex of each column by one ``bytes.fromhex``
    in C; any doubt sends the batch down the row-by-row path, which names bad rows.
    """
    columns = list(zip(*rows, strict=True))
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
