"""A Vigil feed that fails: every failure leaves the set and the checkpoint as they were.

The fake publisher answers like ``/v1/feeds/SET`` (signed pages after a cursor) and can
be switched to tamper with a page, replay an earlier one, cut one short, answer
garbage or an HTTP error, stall past the timeout, or hang until released (to kill a
pull with SIGKILL mid-way). Each failure names the exchange and the page; the next
pull resumes after the last committed page and ends with every entry exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cli_runner import vigil
from tests.exchange.fakes import FakeServer, Request, as_json
from tests.web.server import wait_for
from vigil.exchange import http
from vigil.exchange.base import ExchangeError
from vigil.exchange.signing import public_pem, sign_batch, verify_batch
from vigil.store import open_store
from vigil.store.exchanges import ExchangeRepository

ITEMS = [
    {"seq": n, "id": f"item{n}", "op": "upsert", "signals": {"md5": f"{n:032x}"}, "category": None}
    for n in range(1, 7)
]


class Publisher:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.mode = "ok"
        self.fail_at = 2  # the cursor whose page misbehaves
        self.served: list[dict] = []
        self.release = threading.Event()

    def page(self, cursor: int, limit: int, nonce: str) -> dict:
        items = [i for i in ITEMS if i["seq"] > cursor][:limit]
        body = {
            "feed": "CONFIRMED",
            "cursor": cursor,
            "next_cursor": items[-1]["seq"] if items else cursor,
            "has_more": bool(items) and items[-1]["seq"] < ITEMS[-1]["seq"],
            "nonce": nonce,
            "issued_at": time.time(),
            "items": items,
        }
        return sign_batch(self.key, body)

    def __call__(self, req: Request):
        cursor, limit = int(req.query["cursor"]), int(req.query["limit"])
        envelope = self.page(cursor, limit, req.query["nonce"])
        bad = cursor == self.fail_at
        try:
            if bad and self.mode == "tamper":
                envelope["batch"] = envelope["batch"].replace("item3", "item9")
            elif bad and self.mode == "replay":
                return as_json(self.served[-1])
            elif bad and self.mode == "cut":
                raw = json.dumps(envelope).encode()
                return 200, {"Content-Length": str(len(raw)), "X-Cut": "40"}, raw
            elif bad and self.mode == "garbage":
                return 200, {"Content-Type": "application/json"}, b"<html>oops</html>"
            elif bad and self.mode == "error":
                return as_json({"message": "database on fire"}, 500)
            elif bad and self.mode == "stall":
                time.sleep(2)
            elif bad and self.mode == "range":
                body = json.loads(envelope["batch"])
                body["items"][0]["seq"] = 1
                body.pop("format")
                envelope = sign_batch(self.key, body)
            elif bad and self.mode == "hang":
                self.release.wait(60)
            return as_json(envelope)
        finally:
            self.served.append(envelope)


def subscribe(home: Path, tmp_path: Path, pub: Publisher, url: str) -> None:
    (tmp_path / "pub.pem").write_text(public_pem(pub.key))
    (tmp_path / "creds.json").write_text(json.dumps({"api_key": "vgl_test"}))
    result = vigil(
        "exchange", "add", "fake", "--type", "vigil", "--url", f"{url}/v1/feeds/CONFIRMED",
        "--credentials", str(tmp_path / "creds.json"), "--public-key", str(tmp_path / "pub.pem"),
        "--option", "page_size=2", "--into", "FROM_FAKE", home=home,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def state(home: Path) -> tuple[dict | None, list[str]]:
    with open_store(f"sqlite:///{home / 'vigil.sqlite3'}") as store:
        repo = ExchangeRepository(store.db)
        ex = repo.require("fake")
        return ex.checkpoint, repo.known_ids(ex)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("tamper", "does not verify against the pinned key"),
        ("replay", "refused as a replay"),
        ("cut", "cut short"),
        ("garbage", "not JSON"),
        ("error", "HTTP 500: database on fire"),
        ("stall", "no answer within"),
        ("range", "out of the batch's cursor range"),
    ],
)
def test_bad_page_leaves_set_and_checkpoint(tmp_path, monkeypatch, mode, message):
    monkeypatch.setattr(http, "TIMEOUT", 0.5)
    home = tmp_path / "home"
    pub = Publisher()
    with FakeServer(pub) as fake:
        subscribe(home, tmp_path, pub, fake.url)
        pub.mode = mode
        result = vigil("exchange", "pull", "fake", home=home)
        assert result.returncode == 1
        assert "exchange fake: page at cursor 2" in result.stderr and message in result.stderr
        # the first page was committed with its checkpoint; the bad one changed nothing
        assert state(home) == ({"cursor": 2}, ["item1", "item2"])
        pub.mode = "ok"
        out = vigil("exchange", "pull", "fake", home=home)
        assert out.returncode == 0 and "4 added" in out.stdout
        assert state(home) == ({"cursor": 6}, [f"item{n}" for n in range(1, 7)])


def test_replay_of_the_same_cursor_with_an_old_nonce_is_refused():
    pub = Publisher()
    old = pub.page(2, 2, "nonce-one")
    key = pub.key.public_key()
    assert verify_batch(old, key, feed="CONFIRMED", cursor=2, nonce="nonce-one", where="t")
    with pytest.raises(ExchangeError, match="replay"):
        verify_batch(old, key, feed="CONFIRMED", cursor=2, nonce="nonce-two", where="t")
    with pytest.raises(ExchangeError, match="feed"):
        verify_batch(old, key, feed="OTHER", cursor=2, nonce="nonce-one", where="t")


def test_sigkill_mid_pull_resumes_where_it_stopped(tmp_path):
    home = tmp_path / "home"
    pub = Publisher()
    pub.mode, pub.fail_at = "hang", 4
    with FakeServer(pub) as fake:
        subscribe(home, tmp_path, pub, fake.url)
        env = {"VIGIL_HOME": str(home), "PATH": "/usr/bin:/bin"}
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "exchange", "pull", "fake", "--quiet"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # two pages committed, the third hangs: kill the pull there
            assert wait_for(lambda: state(home)[0] == {"cursor": 4}, timeout=60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
            pub.release.set()
        assert state(home) == ({"cursor": 4}, [f"item{n}" for n in range(1, 5)])
        out = vigil("exchange", "pull", "fake", home=home)
        assert out.returncode == 0 and "2 added" in out.stdout, out.stderr
    assert state(home) == ({"cursor": 6}, [f"item{n}" for n in range(1, 7)])
    with open_store(f"sqlite:///{home / 'vigil.sqlite3'}") as store:
        assert store.hashsets.require("FROM_FAKE").entry_count == 6
