"""Vigil's database: SQLite by default, PostgreSQL when ``VIGIL_DATABASE_URL`` says so.

``open_store()`` connects, applies the migrations the database lacks, and gives a
``Store`` with one repository per kind of record (hash sets today; cases, API keys
and more later). Repositories share the store's one connection.
"""

from __future__ import annotations

from types import TracebackType

from vigil.store.cases import CaseRepository
from vigil.store.config import database_url, vigil_home
from vigil.store.database import Database, connect
from vigil.store.hashsets import HashSetRepository, Match
from vigil.store.migrations import MIGRATIONS, migrate


class Store:
    """An open, migrated database and its repositories."""

    def __init__(self, db: Database) -> None:
        """Migrate ``db`` to the current schema and set up the repositories."""
        self.db = db
        try:
            migrate(db)
        except BaseException:
            db.close()
            raise
        self.hashsets = HashSetRepository(db)
        self.cases = CaseRepository(db)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def ping(self) -> None:
        """Raise StoreError unless the connection still answers (pools check before reuse)."""
        self.db.execute("SELECT 1")

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(url: str | None = None) -> Store:
    """Open the store at ``url`` (default: ``database_url()``), migrated."""
    return Store(connect(url or database_url()))


__all__ = [
    "MIGRATIONS",
    "HashSetRepository",
    "Match",
    "Store",
    "database_url",
    "migrate",
    "open_store",
    "vigil_home",
]
