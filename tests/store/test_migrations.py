"""Migrations: applied once on start, recorded, extendable, refusing a newer schema."""

from __future__ import annotations

import pytest

from vigil.errors import StoreError
from vigil.store import MIGRATIONS, migrate, open_store
from vigil.store.database import connect
from vigil.store.migrations import Migration, current_version


def test_a_new_store_gets_every_migration_once(store_url: str) -> None:
    with open_store(store_url) as store:
        assert current_version(store.db) == MIGRATIONS[-1].version
        assert migrate(store.db) == []  # nothing left to apply
        tables = {"hash_sets", "hash_entries", "hash_index", "schema_migrations"}
        for table in tables:
            assert store.db.execute(f"SELECT COUNT(*) FROM {table}")[0][0] >= 0
    with open_store(store_url) as again:
        rows = again.db.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]


def test_a_later_migration_is_applied_on_the_next_start(store_url: str) -> None:
    extra = Migration(
        len(MIGRATIONS) + 1,
        "a table a later issue adds",
        "CREATE TABLE later_thing (id INTEGER PRIMARY KEY, note TEXT)",
        "CREATE TABLE later_thing (id BIGSERIAL PRIMARY KEY, note TEXT)",
    )
    db = connect(store_url)
    try:
        migrate(db)
        assert migrate(db, (*MIGRATIONS, extra)) == [extra.version]
        db.execute("INSERT INTO later_thing (note) VALUES (?)", ("x",))
        assert db.execute("SELECT note FROM later_thing") == [("x",)]
        with pytest.raises(StoreError, match="newer than this Vigil knows"):
            migrate(db)
    finally:
        db.close()


def test_a_failing_migration_changes_nothing(store_url: str) -> None:
    broken = Migration(
        len(MIGRATIONS) + 1,
        "broken",
        "CREATE TABLE half_done (id INTEGER); CREATE TABLE hash_sets (x INTEGER)",
        "CREATE TABLE half_done (id INTEGER); CREATE TABLE hash_sets (x INTEGER)",
    )
    db = connect(store_url)
    try:
        migrate(db)
        with pytest.raises(Exception, match=r"(?i)already exists"):
            migrate(db, (*MIGRATIONS, broken))
        assert current_version(db) == MIGRATIONS[-1].version
        with pytest.raises(Exception, match=r"(?i)half_done"):
            db.execute("SELECT * FROM half_done")
    finally:
        db.close()


def test_unsupported_url() -> None:
    with pytest.raises(StoreError, match="unsupported database URL mysql://"):
        connect("mysql://localhost/x")
