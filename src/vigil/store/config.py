"""Where the store lives: ``VIGIL_DATABASE_URL``, else a SQLite file under ``VIGIL_HOME``.

Both are settings of ``vigil.settings`` (read from the environment there).
``VIGIL_HOME`` defaults to the per-user data folder of the platform (from
platformdirs, which knows XDG, macOS and Windows conventions), for example
``~/.local/share/vigil`` on Linux.
"""

from __future__ import annotations

from pathlib import Path

from vigil.settings import SQLITE_FILE, Settings, setting

HOME_ENV = setting("home").env
URL_ENV = setting("database_url").env

__all__ = ["HOME_ENV", "SQLITE_FILE", "URL_ENV", "database_url", "vigil_home"]


def vigil_home(settings: Settings | None = None) -> Path:
    """The folder holding Vigil's own data (created on demand by the SQLite backend)."""
    return (settings or Settings.from_env()).vigil_home


def database_url(settings: Settings | None = None) -> str:
    """The configured database: a ``postgresql://`` URL, or ``sqlite:///<home>/vigil.sqlite3``."""
    return (settings or Settings.from_env()).store_url
