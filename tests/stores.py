"""Store fixtures on both backends: SQLite always, PostgreSQL when the local server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_BASE = os.environ.get("VIGIL_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of the test database; dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_BASE, autocommit=True, connect_timeout=3)
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_BASE}: {exc}")
    schema = f"vigil_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database URL for an empty store on each backend; VIGIL_HOME points at tmp_path."""
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'home' / 'vigil.sqlite3'}"
        monkeypatch.setenv("VIGIL_DATABASE_URL", url)
        yield url
        return
    for url in postgres_schema_url():
        monkeypatch.setenv("VIGIL_DATABASE_URL", url)
        yield url
