"""Settings: one table, read once from the environment, documented, never written back."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.errors import UsageError
from vigil.hashsets.categories import PROFILES_ENV
from vigil.settings import SETTINGS, MiB, Settings, setting
from vigil.store.config import HOME_ENV, URL_ENV
from vigil.web.config import ServiceConfig

REPO = Path(__file__).resolve().parents[1]


def test_the_table_and_the_dataclass_agree() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert list(fields) == [s.name for s in SETTINGS]
    assert {s.name: s.default for s in SETTINGS} == fields
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    assert all(s.env.startswith("VIGIL_") and s.help for s in SETTINGS)
    assert (HOME_ENV, URL_ENV) == ("VIGIL_HOME", "VIGIL_DATABASE_URL")
    assert setting("category_profiles").env == PROFILES_ENV


def test_every_setting_is_documented() -> None:
    docs = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    for row in SETTINGS:
        assert f"`{row.env}`" in docs, f"{row.env} is not in docs/settings.md"


def test_no_environment_read_outside_settings() -> None:
    """Only vigil/settings.py reads Vigil's variables from os.environ."""
    pattern = re.compile(r"os\.environ(\.get|\[)|os\.getenv|os\.environ\b(?!\.copy)")
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "src" / "vigil").rglob("*.py")
        if path.name != "settings.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_from_env_parses_and_ignores_empty_values(tmp_path: Path) -> None:
    env = {
        "VIGIL_HOME": str(tmp_path),
        "VIGIL_DATABASE_URL": "  ",
        "VIGIL_SERVE_RATE": "12.5",
        "VIGIL_SERVE_MAX_BATCH": "7",
        "VIGIL_SERVE_WEBHOOKS": "0",
        "VIGIL_SERVE_INDEX_ROOT": "~/idx",
        "UNRELATED": "x",
    }
    s = Settings.from_env(env)
    assert s.home == tmp_path and s.database_url is None
    assert (s.serve_rate, s.serve_max_batch, s.serve_webhooks) == (12.5, 7, False)
    assert s.serve_index_root == Path("~/idx").expanduser()
    assert s.store_url == f"sqlite:///{tmp_path / 'vigil.sqlite3'}"
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"VIGIL_SERVE_WEBHOOKS": "1"}).serve_webhooks is True


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("VIGIL_SERVE_RATE", "fast", "a number"),
        ("VIGIL_SERVE_RATE", "nan", "a number"),
        ("VIGIL_SERVE_MAX_BATCH", "1.5", "an integer"),
        ("VIGIL_SERVE_WEBHOOKS", "maybe", "0 or 1"),
    ],
)
def test_a_bad_value_names_its_variable(env: str, value: str, expected: str) -> None:
    with pytest.raises(UsageError, match=f"{env} must be {expected}"):
        Settings.from_env({env: value})


def test_with_and_the_child_environment() -> None:
    base = Settings.from_env({"VIGIL_SERVE_RATE": "3", "VIGIL_HOME": "/h"})
    changed = base.with_(serve_rate=9.0, serve_burst=18.0)
    assert (base.serve_rate, changed.serve_rate, changed.home) == (3.0, 9.0, Path("/h"))
    with pytest.raises(UsageError, match="unknown settings: nope"):
        base.with_(nope=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.serve_rate = 1.0  # type: ignore[misc]
    assert Settings.from_env(changed.to_environ()) == changed
    inherited = {"PATH": "/bin", "VIGIL_DATABASE_URL": "postgresql://old", "VIGIL_SERVE_RATE": "1"}
    child = changed.child_env(inherited)
    assert child["PATH"] == "/bin" and "VIGIL_DATABASE_URL" not in child
    assert Settings.from_env(child) == changed


def test_the_service_config_comes_from_the_settings(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, serve_max_upload_bytes=MiB, serve_webhooks=False)
    config = ServiceConfig.from_settings(s)
    assert config.database_url == s.store_url
    assert (config.max_upload_bytes, config.deliver_webhooks) == (MiB, False)
    assert config.max_pixels == Settings().serve_max_pixels


def test_serve_with_workers_passes_settings_to_them(tmp_path: Path) -> None:
    """``vigil serve --workers 2``: the workers get the options; SIGTERM stops them all."""
    import httpx

    from tests.web.server import free_port, wait_for
    from vigil.store import open_store
    from vigil.store.apikeys import ApiKeyRepository

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_HOME"] = str(home)
    with open_store(f"sqlite:///{home / 'vigil.sqlite3'}") as store:
        key = ApiKeyRepository(store.db).create("k", "curator")
    port = free_port()
    vigil = Path(sys.executable).parent / "vigil"
    proc = subprocess.Popen(
        [str(vigil), "serve", "--port", str(port), "--workers", "2", "--max-upload-mb", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(base + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert wait_for(ready, timeout=90)
        for _ in range(4):  # whichever worker answers has the limit
            r = httpx.post(
                base + "/v1/hash",
                files={"file": ("x", b"\0" * (2 << 20))},
                headers={"X-API-Key": key},
            )
            assert r.status_code == 413
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert not ready()
