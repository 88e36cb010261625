"""Where the store lives: ``VIGIL_DATABASE_URL``, else a SQLite file under ``VIGIL_HOME``.

``VIGIL_HOME`` defaults to the per-user data folder of the platform (from
platformdirs, which knows XDG, macOS and Windows conventions), for example
``~/.local/share/vigil`` on Linux.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

HOME_ENV = "VIGIL_HOME"
URL_ENV = "VIGIL_DATABASE_URL"
SQLITE_FILE = "vigil.sqlite3"


def vigil_home() -> Path:
    """The folder holding Vigil's own data (created on demand by the SQLite backend)."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else user_data_path("vigil", appauthor=False)


def database_url() -> str:
    """The configured database: a ``postgresql://`` URL, or ``sqlite:///<home>/vigil.sqlite3``."""
    url = os.environ.get(URL_ENV, "").strip()
    return url or f"sqlite:///{vigil_home() / SQLITE_FILE}"
