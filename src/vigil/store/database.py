"""The small database interface the repositories use, and the choice of backend.

Two backends implement it: SQLite (``sqlite.py``, the default, one file, no server)
and PostgreSQL (``postgres.py``, psycopg 3). Repositories write SQL once, with ``?``
placeholders and the subset both dialects share; where the dialects differ, the
repository asks ``dialect``. One connection per ``Database``; SQLite allows one
writer at a time and the backend waits (``busy_timeout``) rather than failing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

from vigil.errors import StoreError

Dialect = Literal["sqlite", "postgres"]
Row = tuple[Any, ...]


class Database(ABC):
    """One connection to the store's database."""

    dialect: Dialect
    #: Human-readable location (file path or URL without password).
    location: str

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; return its rows (empty for statements without rows)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each parameter row."""

    @abstractmethod
    def script(self, sql: str) -> None:
        """Run several ``;``-separated statements (DDL of a migration)."""

    @abstractmethod
    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> Iterator[Row]:
        """Rows of a query, fetched ``size`` at a time (a server-side cursor on PostgreSQL)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A transaction: committed at the end, rolled back on any exception or Ctrl-C."""

    @abstractmethod
    def bulk_insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        """Insert many rows fast (executemany on SQLite, COPY on PostgreSQL); return how many."""

    def bulk_mode(self) -> AbstractContextManager[None]:
        """Settings for a large load (around a transaction); by default, none."""
        return nullcontext()

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


def connect(url: str) -> Database:
    """A Database for ``sqlite:///path`` or ``postgresql://...`` URLs."""
    if url.startswith("sqlite:///"):
        from vigil.store.sqlite import SqliteDatabase

        return SqliteDatabase(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from vigil.store.postgres import PostgresDatabase

        return PostgresDatabase(url)
    raise StoreError(
        f"unsupported database URL {url.split('://', 1)[0]}:// "
        "(use sqlite:///PATH or postgresql://...)"
    )
