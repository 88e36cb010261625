"""The small database interface the repositories use, and the choice of backend.

Two backends implement it: SQLite (``sqlite.py``, the default, one file, no server)
and PostgreSQL (``postgres.py``, psycopg 3). Repositories write SQL once, with ``?``
placeholders and the subset both dialects share; where the dialects differ, the
repository asks ``dialect``. One connection per ``Database``; SQLite allows one
writer at a time and the backend waits (``busy_timeout``) rather than failing.

Driver errors (``sqlite3.Error``, ``psycopg.Error``) never leave a backend: each is
raised again as a ``StoreError`` (a ``StoreConflictError`` when another writer got in
the way), so the CLI's and the API's handling of Vigil's errors applies to them. The
message names the operation and the store, never the SQL.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

from vigil.errors import StoreError

Dialect = Literal["sqlite", "postgres"]
Row = tuple[Any, ...]

_STATEMENT = re.compile(
    r"^\s*(?:(INSERT)\s+INTO|(UPDATE)|(DELETE)\s+FROM|(SELECT|WITH)\b.*?\bFROM|"
    r"(CREATE|DROP|ALTER)\s+(?:TABLE|INDEX|UNIQUE\s+INDEX)(?:\s+IF\s+(?:NOT\s+)?EXISTS)?)"
    r"\s+(\w+)",
    re.IGNORECASE | re.DOTALL,
)
_VERBS = {
    "INSERT": "writing to",
    "UPDATE": "updating",
    "DELETE": "deleting from",
    "SELECT": "reading",
    "WITH": "reading",
    "CREATE": "creating",
    "DROP": "dropping",
    "ALTER": "altering",
}
_OTHER = {
    "SELECT": "running a query",
    "BEGIN": "starting a transaction",
    "COMMIT": "committing",
    "ROLLBACK": "rolling back",
    "PRAGMA": "setting up the connection",
    "COPY": "loading rows",
}


def operation(sql: str) -> str:
    """What a statement does, for an error message: ``"writing to hash_sets"``, never the SQL."""
    found = _STATEMENT.match(sql)
    if found is None:
        word = sql.split(None, 1)[0].upper() if sql.strip() else ""
        return _OTHER.get(word, "running a statement")
    verb = next(g for g in found.groups()[:-1] if g)
    return f"{_VERBS[verb.upper()]} {found.group(6)}"


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of a driver's message (later lines can quote the statement)."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
