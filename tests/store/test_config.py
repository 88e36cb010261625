"""Where the store lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.errors import StoreError
from vigil.store import database_url, open_store, vigil_home


def test_vigil_home_and_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "h"))
    assert vigil_home() == tmp_path / "h"
    assert database_url() == f"sqlite:///{tmp_path / 'h' / 'vigil.sqlite3'}"
    with open_store() as store:
        assert store.db.dialect == "sqlite"
    assert (tmp_path / "h" / "vigil.sqlite3").is_file()


def test_default_home_is_the_per_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIGIL_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-data-for-test")
    assert vigil_home() == Path("/tmp/xdg-data-for-test/vigil")


def test_database_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert database_url() == "postgresql://nobody@127.0.0.1:1/none"
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://nobody@"):
        open_store()
