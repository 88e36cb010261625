"""A reviewed case for the review tests: generated evidence scanned, three examiners."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_runner import vigil
from tests.review.evidence import make_evidence
from vigil.review.accounts import Accounts
from vigil.review.service import ReviewSession
from vigil.settings import Settings
from vigil.store import Store, open_store

PASSWORD = "correct horse battery"


@dataclass
class Reviewed:
    """Case ``c1`` scanned from ``files``; examiners alice, bob (reviewers), lena (lead)."""

    home: Path
    files: dict[str, Path]
    url: str

    def session(self, **options: object) -> tuple[Store, ReviewSession]:
        store = open_store(self.url)
        return store, ReviewSession(store, "c1", cache_root=self.home / "cache", **options)  # type: ignore[arg-type]


def make_reviewed(root: Path) -> Reviewed:
    home = root / "home"
    files = make_evidence(root)
    imported = vigil("hashset", "import", str(files["hashset"]), "--name", "KNOWN", home=home)
    assert imported.returncode == 0, imported.stderr
    scanned = vigil("scan", str(root / "evidence"), "--case", "c1", home=home)
    assert scanned.returncode == 0, scanned.stderr
    url = Settings.from_env({"VIGIL_HOME": str(home)}).store_url
    with open_store(url) as store:
        accounts = Accounts(store)
        accounts.add("alice", "reviewer", PASSWORD)
        accounts.add("bob", "reviewer", PASSWORD)
        accounts.add("lena", "lead", PASSWORD)
    return Reviewed(home, files, url)


@pytest.fixture
def reviewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Reviewed]:
    """A fresh reviewed case (each test decides on its own)."""
    made = make_reviewed(tmp_path)
    monkeypatch.setenv("VIGIL_HOME", str(made.home))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    yield made


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(review: ReviewSession) -> Iterator[str]:
    """The review app under uvicorn in a thread on a free loopback port; its base URL."""
    import uvicorn

    from vigil.web.review.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(review), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the review app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
