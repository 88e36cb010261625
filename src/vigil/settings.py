"""Vigil's settings: one table (name, environment variable, type, default, help), read once.

Every setting Vigil reads from the environment is a row of ``SETTINGS``; nothing else
in Vigil reads ``os.environ`` for its configuration. A process reads the environment
once into a frozen ``Settings`` (``Settings.from_env()``) and passes that object on;
a command that changes a setting (``vigil serve --rate``) makes a changed copy with
``settings.with_(...)`` rather than writing to ``os.environ``, and a child process
that must see the same settings gets them in its own environment (``to_environ()``).

Why a table: the documentation (``docs/settings.md``) and a test that fails when a
setting is undocumented are checked against it, as datasette does with its
``SETTINGS``. An empty variable counts as unset. A value that does not parse is a
``UsageError`` naming the variable, not a traceback from somewhere later.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import UsageError

MiB = 1 << 20
SQLITE_FILE = "vigil.sqlite3"


@dataclass(frozen=True)
class Setting:
    """One row of the table: attribute, environment variable, type, default, help."""

    name: str
    env: str
    type: type
    default: Any
    help: str


#: Every setting, in the order the documentation lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "VIGIL_HOME",
        Path,
        None,
        "Folder of Vigil's own data: the default SQLite store, signing keys, the service's "
        "similarity indexes. Default: the per-user data folder (~/.local/share/vigil on Linux).",
    ),
    Setting(
        "database_url",
        "VIGIL_DATABASE_URL",
        str,
        None,
        "The store: sqlite:///PATH or postgresql://user@host/db. "
        "Default: sqlite:///$VIGIL_HOME/vigil.sqlite3.",
    ),
    Setting(
        "category_profiles",
        "VIGIL_CATEGORY_PROFILES",
        Path,
        None,
        "A TOML file of category profiles and mappings replacing the bundled one.",
    ),
    Setting(
        "serve_index_root",
        "VIGIL_SERVE_INDEX_ROOT",
        Path,
        None,
        "Where the service keeps its PDQ/vPDQ indexes. Default: beside the store.",
    ),
    Setting(
        "serve_max_upload_bytes",
        "VIGIL_SERVE_MAX_UPLOAD_BYTES",
        int,
        32 * MiB,
        "Largest upload the service reads (larger requests get 413). "
        "vigil serve --max-upload-mb sets it.",
    ),
    Setting(
        "serve_max_batch",
        "VIGIL_SERVE_MAX_BATCH",
        int,
        10_000,
        "Most hashes in one batch lookup.",
    ),
    Setting(
        "serve_rate",
        "VIGIL_SERVE_RATE",
        float,
        5_000.0,
        "Sustained requests per second per API key (a key created with its own --rate has "
        "that instead). vigil serve --rate sets it.",
    ),
    Setting(
        "serve_burst",
        "VIGIL_SERVE_BURST",
        float,
        10_000.0,
        "Burst of requests per API key above the rate. vigil serve --rate sets it to twice "
        "the rate.",
    ),
    Setting(
        "serve_poll_seconds",
        "VIGIL_SERVE_POLL_SECONDS",
        float,
        1.0,
        "How often each serving process polls the store for changed hash sets.",
    ),
    Setting(
        "serve_webhooks",
        "VIGIL_SERVE_WEBHOOKS",
        bool,
        True,
        "Whether this serving process delivers webhook events (0 to leave it to others).",
    ),
    Setting(
        "serve_max_pixels",
        "VIGIL_SERVE_MAX_PIXELS",
        int,
        50_000_000,
        "Largest decoded upload image in pixels; larger ones are refused as decompression bombs.",
    ),
    Setting(
        "serve_hma_open_routes",
        "VIGIL_SERVE_HMA_OPEN_ROUTES",
        bool,
        False,
        "Answer the HMA-compatible routes without an API key, as HMA does (anyone who can "
        "reach the port may then add and delete bank content). vigil serve --hma-open-routes "
        "sets it. /status, /status/live, /healthz and /readyz never need a key.",
    ),
    Setting(
        "serve_fetch",
        "VIGIL_SERVE_FETCH",
        bool,
        True,
        "Whether the HMA-compatible routes fetch media from a url= parameter (0 refuses "
        "such requests with 400).",
    ),
    Setting(
        "serve_fetch_allow",
        "VIGIL_SERVE_FETCH_ALLOW",
        str,
        None,
        "Comma-separated host names, addresses and networks (CIDR) that URL fetches may "
        "reach although they are loopback, private, link-local or otherwise not public "
        "(refused by default, as are cloud metadata addresses).",
    ),
    Setting(
        "serve_fetch_timeout",
        "VIGIL_SERVE_FETCH_TIMEOUT",
        float,
        10.0,
        "Seconds a URL fetch may take in all (connect, redirects and body).",
    ),
    Setting(
        "serve_fetch_redirects",
        "VIGIL_SERVE_FETCH_REDIRECTS",
        int,
        3,
        "Most redirects a URL fetch follows (each hop checked again).",
    ),
    Setting(
        "serve_log_urls",
        "VIGIL_SERVE_LOG_URLS",
        bool,
        False,
        "Keep fetched URLs in the match log (by default only their hashes are kept).",
    ),
    Setting(
        "dask_scheduler",
        "VIGIL_DASK_SCHEDULER",
        str,
        None,
        "A Dask scheduler (tcp://HOST:8786) that vigil scan runs its workers on, as with "
        "--cluster (docs/scale.md). Default: a local process pool.",
    ),
    Setting(
        "hashset_max_line_bytes",
        "VIGIL_HASHSET_MAX_LINE_BYTES",
        int,
        MiB,
        "Longest line a hash-list import reads (line and CSV formats); a longer one ends "
        "the import with an error (docs/hashsets.md, Hostile lists).",
    ),
    Setting(
        "hashset_max_json_depth",
        "VIGIL_HASHSET_MAX_JSON_DEPTH",
        int,
        64,
        "Deepest JSON nesting a VICS import reads (VICS needs about 6).",
    ),
    Setting(
        "hashset_max_json_string_bytes",
        "VIGIL_HASHSET_MAX_JSON_STRING_BYTES",
        int,
        16 * MiB,
        "Longest JSON string a VICS import reads, in bytes.",
    ),
    Setting(
        "hashset_max_sqlite_value_bytes",
        "VIGIL_HASHSET_MAX_SQLITE_VALUE_BYTES",
        int,
        MiB,
        "Largest string or blob one cell of an imported SQLite list (NSRL RDS, .kdb) may hold.",
    ),
    Setting(
        "hashset_max_sqlite_stall_seconds",
        "VIGIL_HASHSET_MAX_SQLITE_STALL_SECONDS",
        float,
        300.0,
        "Seconds a query of an imported SQLite list may run without producing a row.",
    ),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(setting: Setting, raw: str) -> Any:
    """The value of one variable, or UsageError naming it."""
    kind = setting.type
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            return lowered in _TRUE
        if kind is int:
            return int(raw)
        if kind is float:
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if kind is Path:
            return Path(raw).expanduser()
        return raw
    except ValueError:
        expected = {bool: "0 or 1", int: "an integer", float: "a number"}[kind]
        raise UsageError(f"{setting.env} must be {expected}, got {raw[:60]!r}") from None


@dataclass(frozen=True)
class Settings:
    """Every setting's value in one process (see ``SETTINGS`` for meaning and defaults)."""

    home: Path | None = None
    database_url: str | None = None
    category_profiles: Path | None = None
    serve_index_root: Path | None = None
    serve_max_upload_bytes: int = 32 * MiB
    serve_max_batch: int = 10_000
    serve_rate: float = 5_000.0
    serve_burst: float = 10_000.0
    serve_poll_seconds: float = 1.0
    serve_webhooks: bool = True
    serve_max_pixels: int = 50_000_000
    serve_hma_open_routes: bool = False
    serve_fetch: bool = True
    serve_fetch_allow: str | None = None
    serve_fetch_timeout: float = 10.0
    serve_fetch_redirects: int = 3
    serve_log_urls: bool = False
    dask_scheduler: str | None = None
    hashset_max_line_bytes: int = MiB
    hashset_max_json_depth: int = 64
    hashset_max_json_string_bytes: int = 16 * MiB
    hashset_max_sqlite_value_bytes: int = MiB
    hashset_max_sqlite_stall_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); defaults where unset or empty."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = source.get(setting.env, "").strip()
            if raw:
                values[setting.name] = _parse(setting, raw)
        return cls(**values)

    def with_(self, **overrides: Any) -> Settings:
        """A copy with some settings changed (by attribute name)."""
        unknown = sorted(set(overrides) - {s.name for s in SETTINGS})
        if unknown:
            raise UsageError(f"unknown settings: {', '.join(unknown)}")
        return dataclasses.replace(self, **overrides)

    def to_environ(self) -> dict[str, str]:
        """Variables that give a child process exactly these settings.

        Every setting that has a value is written out (a child that inherited an
        older value of a variable gets this one); settings without a value are absent
        and so must be dropped from the child's inherited environment (``child_env``).
        """
        out: dict[str, str] = {}
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if value is not None:
                out[setting.env] = ("1" if value else "0") if setting.type is bool else str(value)
        return out

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with Vigil's variables replaced by these settings."""
        ours = {s.env for s in SETTINGS}
        inherited = os.environ if base is None else base
        return {
            **{k: v for k, v in inherited.items() if k not in ours},
            **self.to_environ(),
        }

    # -- derived values --------------------------------------------------------------

    @property
    def vigil_home(self) -> Path:
        """The folder of Vigil's own data: ``home``, else the platform's per-user folder."""
        if self.home is not None:
            return self.home
        from platformdirs import user_data_path

        return user_data_path("vigil", appauthor=False)

    @property
    def store_url(self) -> str:
        """The store's URL: ``database_url``, else the SQLite file under ``vigil_home``."""
        return self.database_url or f"sqlite:///{self.vigil_home / SQLITE_FILE}"


def setting(name: str) -> Setting:
    """The table row of the setting called ``name`` (attribute name)."""
    for row in SETTINGS:
        if row.name == name:
            return row
    raise KeyError(name)
