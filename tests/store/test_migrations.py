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


def test_migration_4_keeps_rows_and_ids_and_stops_reuse(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A store of the first release (schema 3) upgraded: rows and ids kept, ids not reused."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = connect(url)
    try:
        assert migrate(db, MIGRATIONS[:3]) == [1, 2, 3]
        for set_id in (1, 2, 3):
            db.execute(
                "INSERT INTO hash_sets (id, name, kind, imported_at, entry_count) "
                "VALUES (?, ?, 'alert', 't', 0)",
                (set_id, f"s{set_id}"),
            )
        db.execute("INSERT INTO cases (id, name, created_at) VALUES (7, 'c', 't')")
        db.execute(
            "INSERT INTO webhooks (id, url, secret, created_at) VALUES (5, 'http://h', 's', 't')"
        )
        db.execute(
            "INSERT INTO webhook_events (event_id, webhook_id, payload, created_at, "
            "next_attempt_at) VALUES ('e', 5, '{}', 't', 0)"
        )
        db.execute("DELETE FROM hash_sets WHERE id = 2")
        for set_id in (1, 2):  # set 2's mark is an orphan, left by `hashset delete`
            db.execute(
                "INSERT INTO entry_disabled (set_id, entry_no, at) VALUES (?, 0, 't')", (set_id,)
            )
        assert migrate(db, MIGRATIONS[:4]) == [4]
        assert db.execute("SELECT id, name FROM hash_sets ORDER BY id") == [(1, "s1"), (3, "s3")]
        assert db.execute("SELECT id, name FROM cases") == [(7, "c")]
        assert db.execute("SELECT webhook_id FROM webhook_events") == [(5,)]
        assert db.execute("SELECT set_id FROM entry_disabled") == [(1,)]
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "webhook_events_due" in indexes
        ddl = db.execute("SELECT sql FROM sqlite_master WHERE name = 'hash_sets'")[0][0]
        assert "AUTOINCREMENT" in ddl
        db.execute("DELETE FROM hash_sets WHERE id = 3")
        db.execute("INSERT INTO hash_sets (name, kind, imported_at) VALUES ('new', 'alert', 't')")
        assert db.execute("SELECT id FROM hash_sets WHERE name = 'new'") == [(4,)]
    finally:
        db.close()
