"""The SQLite backend: one file, WAL journal, one writer, large bulk transactions.

WAL lets readers (a lookup, a later web server) run while an import writes. Imports
run in one transaction per set, so an interrupted import leaves nothing behind.

Writers take turns. One that finds another process's write lock waits for it: SQLite
waits ``BUSY_TIMEOUT_MS`` per attempt, and a statement that starts a transaction or
writes on its own is tried again (it changed nothing) for up to ``LOCK_WAIT_SECONDS``
in all, with a log line per attempt. A million-line import holds the lock for about
half a minute; a scan that starts meanwhile waits for it instead of failing.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from vigil.errors import StoreConflictError, StoreError
from vigil.store.database import Database, Row, first_line, operation

#: Page cache (negative = KiB). Measured on 10 M MD5s: 128 MiB imports as fast as
#: 256 MiB (and faster than 512 MiB or 64 MiB) with 370 MiB peak instead of 630.
CACHE_KIB = 128 * 1024
BUSY_TIMEOUT_MS = 30_000
#: How long in all a statement that can be tried again waits for another writer.
LOCK_WAIT_SECONDS = 600.0
#: Read through a memory map: a batch lookup's 100,000 B-tree seeks then cost page
#: faults on the OS cache instead of 400,000 read() calls. Address space, not memory.
MMAP_BYTES = 64 << 30
_BATCH = 50_000
_ROWS_PER_STATEMENT = 200
_log = logging.getLogger(__name__)


def _is_locked(exc: sqlite3.Error) -> bool:
    """Whether SQLite gave up waiting for another connection's lock."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class SqliteDatabase(Database):
    """A SQLite database file (``:memory:`` for a throwaway one)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        """Open (creating the folder and file if needed) and set the pragmas."""
        self.location = path
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._wal()
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            self.conn.execute("PRAGMA temp_store = FILE")
            self.conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store {path}: {first_line(exc)}") from exc
        self._depth = 0
        #: Seconds a retryable statement waits in all for another writer's lock.
        self.lock_wait = LOCK_WAIT_SECONDS

    def _wal(self) -> None:
        """Switch to WAL, waiting for other connections that switch a new file at once.

        The switch needs the file to itself and SQLite does not call the busy handler
        for it: processes opening a new store together get "database is locked" at
        once. They retry here until the busy timeout, as any other writer waits.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _error(self, exc: sqlite3.Error, sql: str, waited: float | None = None) -> StoreError:
        """The Vigil error for a driver error met while running ``sql``."""
        reason = first_line(exc)
        message = f"{operation(sql)} failed in the SQLite store {self.location}: {reason}"
        if isinstance(exc, sqlite3.IntegrityError) and "unique" in reason.lower():
            return StoreConflictError(message)
        if _is_locked(exc):
            held = "" if waited is None else f" for {waited:.1f} s"
            return StoreConflictError(
                f"{operation(sql)} failed in the SQLite store {self.location}: another "
                f"process held the write lock{held}, longer than this one waits ({reason})"
            )
        return StoreError(message)

    def _run(self, sql: str, call: Callable[[], Any], retry: bool = True) -> Any:
        """``call()``, tried again while another process holds the lock (see the module)."""
        started = time.monotonic()
        while True:
            try:
                return call()
            except sqlite3.Error as exc:
                waited = time.monotonic() - started
                if not (
                    retry
                    and _is_locked(exc)
                    and not self.conn.in_transaction
                    and waited < self.lock_wait
                ):
                    raise self._error(exc, sql, waited) from exc
                _log.warning(
                    "%s: waiting for another process's write lock on %s (%.0f s so far)",
                    operation(sql),
                    self.location,
                    waited,
                )
                time.sleep(0.05)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; return its rows."""
        rows: list[Row] = self._run(sql, lambda: self.conn.execute(sql, params).fetchall())
        return rows

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row.

        Not tried again when locked: outside a transaction each row commits on its own,
        so the rows before the lock are already in.
        """
        self._run(sql, lambda: self.conn.executemany(sql, rows), retry=False)

    def script(self, sql: str) -> None:
        """Run DDL statements one by one (executescript would commit the transaction)."""
        for statement in sql.split(";"):
            if statement.strip():
                self.execute(statement)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> Iterator[Row]:
        """Rows of a query, ``size`` at a time."""
        try:
            cursor = self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        try:
            while True:
                try:
                    rows = cursor.fetchmany(size)
                except sqlite3.Error as exc:
                    raise self._error(exc, sql) from exc
                if not rows:
                    break
                yield from rows
        finally:
            cursor.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE (take the write lock now) ... COMMIT, or ROLLBACK on anything."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            if self.conn.in_transaction:
                # The error being raised is the one that matters, not a failed rollback.
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.execute("COMMIT")

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """Insert ``_ROWS_PER_STATEMENT`` rows per INSERT statement, in batches.

        One multi-row ``VALUES`` statement per 200 rows halves the cost of
        ``executemany`` with one row per statement: per-statement work (step, reset)
        is paid once per 200 rows, and the parameters are flattened in C.
        """
        width = len(columns)
        one = f"({', '.join('?' * width)})"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        many = head + ", ".join([one] * _ROWS_PER_STATEMENT)
        count = 0
        iterator = iter(rows)
        try:
            while batch := list(itertools.islice(iterator, _BATCH)):
                whole = len(batch) - len(batch) % _ROWS_PER_STATEMENT
                if whole:
                    flat = itertools.chain.from_iterable(batch[:whole])
                    self.conn.executemany(
                        many, zip(*[flat] * (width * _ROWS_PER_STATEMENT), strict=False)
                    )
                if whole < len(batch):
                    self.conn.executemany(head + one, batch[whole:])
                count += len(batch)
        except sqlite3.Error as exc:
            raise self._error(exc, head) from exc
        return count

    @contextmanager
    def bulk_mode(self) -> Iterator[None]:
        """No memory map while loading, then the map back for lookups.

        Pages read through the map to build the index would count as this process's
        resident memory for nothing (they are the OS's file cache either way).
        """
        self.execute("PRAGMA mmap_size = 0")
        try:
            yield
        finally:
            self.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")

    def close(self) -> None:
        """Close the connection."""
        try:
            self.conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot close the SQLite store {self.location}: {exc}") from exc
