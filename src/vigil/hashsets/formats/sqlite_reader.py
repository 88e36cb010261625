"""Reading SQLite files that are hash lists (NSRL RDS v3, Autopsy ``.kdb``), with limits.

These are untrusted input, not Vigil's store: SQL here runs on a file a partner sent,
read-only. Kept apart from ``base`` so that the one place where Vigil runs SQL on a
foreign file is easy to find (``tests/test_layers.py`` lists it).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from vigil.hashsets.formats.base import Limits

#: What reading an untrusted SQLite file may raise besides ``sqlite3.Error``: corrupt
#: pages decode as anything (text that is not UTF-8, absurd lengths).
SQLITE_READ_ERRORS = (sqlite3.Error, UnicodeDecodeError, MemoryError, ValueError, OverflowError)


class SqliteReader:
    """A read-only connection to an untrusted SQLite file (NSRL RDS, Autopsy .kdb), with limits.

    The file is evidence-grade reference data and may be hostile (issue 19): it is
    opened read-only and immutable, with ``trusted_schema`` off, a cap on the size of
    any one string or blob (``SQLITE_LIMIT_LENGTH``), a small page cache and temporary
    B-trees on disk, and a progress handler that stops a query producing no row for
    ``max_sqlite_stall_seconds``. Readers query tables only, never the file's views:
    ``tables()`` says which names are real tables.
    """

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        """Open ``path``; ``sqlite3.Error`` if it cannot be."""
        self.limits = limits or Limits()
        self.db = sqlite3.connect(f"file:{path.resolve()}?mode=ro&immutable=1", uri=True)
        try:
            self.db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.limits.max_sqlite_value_bytes)
            self.db.text_factory = _lenient_text
            for pragma in (
                "trusted_schema = OFF",
                "cache_size = -65536",
                "temp_store = FILE",
                "cell_size_check = ON",
            ):
                self.db.execute(f"PRAGMA {pragma}")
        except BaseException:
            self.db.close()
            raise
        self._mark = time.monotonic()
        self.db.set_progress_handler(self._stalled, 100_000)

    def _stalled(self) -> int:
        return int(time.monotonic() - self._mark > self.limits.max_sqlite_stall_seconds)

    def alive(self) -> None:
        """Note that a query made progress (call after each batch of rows)."""
        self._mark = time.monotonic()

    def tables(self) -> dict[str, str]:
        """``{upper-case name: type}`` of the schema's tables and views ('table', 'view', ...).

        A virtual table counts as 'virtual' (it runs a module's code on read).
        """
        found: dict[str, str] = {}
        for kind, name, sql in self.db.execute("SELECT type, name, sql FROM sqlite_master"):
            if not isinstance(name, str) or not isinstance(kind, str):
                continue
            if kind == "table" and isinstance(sql, str) and "VIRTUAL" in sql[:30].upper():
                kind = "virtual"
            found.setdefault(name.upper(), kind)
        return found

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> SqliteReader:
        """Use as a context manager."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving."""
        self.close()


def _lenient_text(raw: bytes) -> str:
    """A TEXT value as str; bytes that are not UTF-8 are replaced, not raised."""
    return raw.decode("utf-8", "replace")
