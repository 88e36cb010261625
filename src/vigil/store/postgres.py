"""The PostgreSQL backend (psycopg 3): for a store shared by several machines or users.

Statements are written with ``?`` placeholders and translated to psycopg's ``%s``;
bulk loads use COPY, PostgreSQL's fastest way in. The connection is in autocommit
mode and ``transaction()`` opens explicit transactions, as psycopg recommends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import count as counter
from typing import Any

import psycopg

from vigil.errors import StoreConflictError, StoreError
from vigil.store.database import Database, Row, first_line, operation

_cursor_ids = counter()
#: Errors that mean another writer got in the way: the same work may succeed again.
_CONFLICTS = (
    psycopg.errors.UniqueViolation,
    psycopg.errors.ExclusionViolation,
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.LockNotAvailable,
)


def _sql(statement: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (statements hold no literal ``?`` or ``%``)."""
    return statement.replace("?", "%s")


class PostgresDatabase(Database):
    """A PostgreSQL database reached by a ``postgresql://`` URL."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        """Connect (autocommit; transactions are explicit)."""
        self.location = _redact(url)
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.location}: {first_line(exc)}"
            ) from exc

    def _error(self, exc: psycopg.Error, sql: str) -> StoreError:
        """The Vigil error for a driver error met while running ``sql``."""
        message = f"{operation(sql)} failed in the PostgreSQL store {self.location}: "
        if isinstance(exc, _CONFLICTS):
            return StoreConflictError(message + first_line(exc))
        if isinstance(exc, psycopg.OperationalError) and self.conn.closed:
            return StoreError(message + f"the connection was lost ({first_line(exc)})")
        return StoreError(message + first_line(exc))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; return its rows."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(_sql(sql), params)  # type: ignore[arg-type]
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row (pipelined by psycopg)."""
        try:
            with self.conn.cursor() as cur:
                cur.executemany(_sql(sql), rows)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def script(self, sql: str) -> None:
        """Run DDL statements."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> Iterator[Row]:
        """Rows through a server-side cursor, inside its own transaction if none is open."""
        name = f"vigil_stream_{next(_cursor_ids)}"
        try:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                with self.conn.transaction():
                    yield from self._named(name, sql, params, size)
            else:
                yield from self._named(name, sql, params, size)
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def _named(self, name: str, sql: str, params: Sequence[Any], size: int) -> Iterator[Row]:
        with self.conn.cursor(name=name) as cur:
            cur.itersize = size
            cur.execute(_sql(sql), params)  # type: ignore[arg-type]
            yield from cur

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A psycopg transaction (nested ones become savepoints).

        Errors of BEGIN, COMMIT (a deferred constraint, a lost connection) and
        ROLLBACK come out as StoreError; errors raised inside are already Vigil's.
        """
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error as exc:
            raise self._error(exc, "COMMIT") from exc

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """COPY the rows in."""
        count = 0
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        try:
            with self.conn.cursor() as cur, cur.copy(copy_sql) as copy:  # type: ignore[arg-type]
                for row in rows:
                    copy.write_row(row)
                    count += 1
        except psycopg.Error as exc:
            raise self._error(exc, f"INSERT INTO {table}") from exc
        return count

    def close(self) -> None:
        """Close the connection."""
        try:
            self.conn.close()
        except psycopg.Error as exc:
            raise StoreError(f"cannot close the PostgreSQL store {self.location}: {exc}") from exc


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://..."
    host = info.get("host", "")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{info.get('user', '')}@{host}{port}/{info.get('dbname', '')}"
