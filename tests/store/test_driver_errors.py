"""Driver errors never leave the Database layer: they become StoreError (both backends)."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from vigil.errors import StoreConflictError, StoreError
from vigil.store import open_store
from vigil.store.database import connect, operation
from vigil.store.sqlite import SqliteDatabase


def test_a_unique_violation_is_a_conflict_naming_table_and_store(store_url: str) -> None:
    with open_store(store_url) as store:
        store.cases.open("c")
        with pytest.raises(StoreConflictError) as caught:
            store.db.execute(
                "INSERT INTO cases (name, created_at, settings) VALUES (?, ?, ?)", ("c", "t", "{}")
            )
        message = str(caught.value)
        assert message.startswith("writing to cases failed in the ")
        assert store.db.location in message
        assert "INSERT" not in message and "VALUES" not in message
        assert store.cases.get("c") is not None  # the connection is still usable


def test_a_conflict_inside_a_transaction_rolls_it_back(store_url: str) -> None:
    with open_store(store_url) as store:
        store.cases.open("c")
        with pytest.raises(StoreConflictError), store.db.transaction():
            store.db.execute(
                "INSERT INTO cases (name, created_at, settings) VALUES (?, ?, ?)", ("d", "t", "{}")
            )
            store.db.execute(
                "INSERT INTO cases (name, created_at, settings) VALUES (?, ?, ?)", ("c", "t", "{}")
            )
        assert store.cases.get("d") is None
        assert store.cases.open("e")[1]


def test_every_entry_point_wraps(store_url: str) -> None:
    with open_store(store_url) as store:
        db = store.db
        bad = "SELECT nothing FROM no_such_table"
        with pytest.raises(StoreError, match="reading no_such_table failed"):
            db.execute(bad)
        with pytest.raises(StoreError, match="reading no_such_table failed"):
            list(db.stream(bad))
        with pytest.raises(StoreError, match="writing to no_such_table failed"):
            db.executemany("INSERT INTO no_such_table (a) VALUES (?)", [(1,)])
        with pytest.raises(StoreError, match="creating cases failed"):
            db.script("CREATE TABLE cases (x INTEGER)")
        with pytest.raises(StoreError, match="writing to no_such_table failed"):
            db.bulk_insert("no_such_table", ("a",), [(1,)])
        with pytest.raises(StoreConflictError):
            db.bulk_insert(
                "service_changes", ("id", "generation"), [(1, 0)]
            )  # the row exists already
        assert db.execute("SELECT generation FROM service_changes") == [(0,)]


def test_sqlite_locked_by_another_process_is_a_conflict(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sqlite3"
    with open_store(f"sqlite:///{path}"):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    db = SqliteDatabase(str(path))
    try:
        db.conn.execute("PRAGMA busy_timeout = 50")  # do not wait the usual 30 s
        db.lock_wait = 0.3  # nor the usual 10 minutes
        with pytest.raises(StoreConflictError, match="held the write lock"), db.transaction():
            pass
        with pytest.raises(StoreConflictError, match="held the write lock"):
            db.execute("UPDATE service_changes SET generation = 1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.close()


def test_a_sqlite_writer_waits_for_a_long_lock_holder(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Another process's write lock held beyond the busy timeout: the writer waits, logging."""
    path = tmp_path / "s.sqlite3"
    with open_store(f"sqlite:///{path}"):
        pass
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE service_changes SET generation = 5")
    release = threading.Timer(0.6, lambda: holder.execute("COMMIT"))
    db = SqliteDatabase(str(path))
    try:
        db.conn.execute("PRAGMA busy_timeout = 50")  # many busy timeouts pass meanwhile
        release.start()
        with caplog.at_level(logging.WARNING, logger="vigil.store.sqlite"), db.transaction():
            db.execute("UPDATE service_changes SET generation = generation + 1")
        assert db.execute("SELECT generation FROM service_changes") == [(6,)]
        assert "waiting for another process's write lock" in caplog.text
        release.join()
        holder.execute("BEGIN IMMEDIATE")  # a write outside a transaction waits the same way
        release = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
        release.start()
        db.execute("UPDATE service_changes SET generation = 0")
        assert db.execute("SELECT generation FROM service_changes") == [(0,)]
    finally:
        release.join()
        holder.close()
        db.close()


def test_unopenable_sqlite_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        connect(f"sqlite:///{tmp_path / 'file' / 'below' / 'db.sqlite3'}")
    (tmp_path / "notdb.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open the SQLite store"):
        open_store(f"sqlite:///{tmp_path / 'notdb.sqlite3'}")


def test_operation_names() -> None:
    assert operation("INSERT INTO hash_sets (a) VALUES (?)") == "writing to hash_sets"
    assert operation("  DELETE FROM x WHERE y") == "deleting from x"
    assert operation("UPDATE t SET a = 1") == "updating t"
    assert operation("SELECT COUNT(*) FROM case_items WHERE a") == "reading case_items"
    assert operation("CREATE TABLE IF NOT EXISTS m (a)") == "creating m"
    assert operation("SELECT 1") == "running a query"
    assert operation("BEGIN IMMEDIATE") == "starting a transaction"
