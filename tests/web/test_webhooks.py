"""Webhook events: signed, queued in the store, delivered once each, across a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from tests.web.server import Server, wait_for
from vigil.store import open_store
from vigil.store.actions import ActionRepository

SECRET = "benign-test-secret-0123456789"


class Receiver:
    """A loopback HTTP receiver that can be told to fail."""

    def __init__(self) -> None:
        self.failing = True
        self.attempts = 0
        self.delivered: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                stamp = self.headers["X-Vigil-Timestamp"]
                mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                event = json.loads(body)
                event["_signature_ok"] = hmac.compare_digest(
                    self.headers["X-Vigil-Signature"], "sha256=" + mac.hexdigest()
                )
                event["_header_id"] = self.headers["X-Vigil-Event"]
                receiver.delivered.append(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_every_event_once_across_a_restart(
    store_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    receiver = Receiver()
    h = np.random.default_rng(41).bytes(32).hex()
    with open_store(store_url) as store:
        ActionRepository(store.db).add_webhook(receiver.url, SECRET)
    home = tmp_path / "home"
    try:
        with Server(store_url, home) as first, first.client(keys["curator"]) as c:
            c.post("/c/banks", json={"name": "HOOKED"})
            c.post("/c/bank/HOOKED/signal", json={"pdq": h})
            assert wait_for(
                lambda: c.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).json() != {}
            )
            assert wait_for(lambda: receiver.attempts >= 1)  # tried, refused, still queued
        with open_store(store_url) as store:
            assert ActionRepository(store.db).queue_status()["pending"] == 1
        receiver.failing = False
        with Server(store_url, home) as second, second.client(keys["matcher"]) as c:
            assert wait_for(lambda: len(receiver.delivered) == 1, timeout=20)
            c.get("/v1/match", params={"signal_type": "pdq", "signal": h})
            assert wait_for(lambda: len(receiver.delivered) == 2, timeout=20)
            time.sleep(1.5)  # nothing more arrives: each event once
        events = receiver.delivered
        assert len(events) == 2 and len({e["event_id"] for e in events}) == 2
        assert all(e["_signature_ok"] and e["_header_id"] == e["event_id"] for e in events)
        assert [e["route"] for e in events] == ["/m/lookup", "/v1/match"]
        assert events[0]["api_key"] == "test-curator" and events[1]["api_key"] == "test-matcher"
        assert events[0]["matches"][0]["hashset"] == "HOOKED"
        assert all("media" not in json.dumps(e) for e in events)
        with open_store(store_url) as store:
            repo = ActionRepository(store.db)
            assert repo.queue_status() == {"pending": 0, "delivered": 2, "failed": 0}
            assert len(repo.match_log()) == 2
    finally:
        receiver.close()
