"""Several ``vigil serve`` instances over one PostgreSQL, as on several hosts.

Each instance has its own ``VIGIL_HOME`` (its own on-disk index, as a second machine
would) and its own port; they share only the store. What is shared is correct across
instances (writes, webhooks); what is per instance (rate limits, metrics) is shown to
be per instance, as docs/scale.md says, with the rule to aggregate it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.stores import postgres_schema_url
from tests.web.server import Server, make_keys, wait_for
from tests.web.test_webhooks import SECRET, Receiver
from vigil.store import open_store
from vigil.store.actions import ActionRepository

rng = np.random.default_rng(1717)


def pdq() -> str:
    return rng.bytes(32).hex()


@pytest.fixture
def url() -> Iterator[str]:
    yield from postgres_schema_url()


@pytest.fixture
def instances(url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    one = Server(url, tmp_path / "host-a", serve_args=[], VIGIL_SERVE_POLL_SECONDS="1")
    two = Server(url, tmp_path / "host-b", serve_args=[], VIGIL_SERVE_POLL_SECONDS="1")
    try:
        yield one.start(), two.start()
    finally:
        one.stop()
        two.stop()


def matches(client: httpx.Client, h: str) -> list[dict]:
    got = client.get("/v1/match", params={"signal_type": "pdq", "signal": h})
    assert got.status_code == 200, got.text
    return got.json()["matches"]


def test_two_instances_see_each_others_new_and_disabled_hashes_within_5_s(
    url: str, instances: tuple[Server, Server]
) -> None:
    keys = make_keys(url)
    one, two = instances
    h, g = pdq(), pdq()
    with one.client(keys["curator"]) as a, two.client(keys["curator"]) as b:
        assert a.post("/v1/hashsets", json={"name": "SHARED"}).status_code == 201
        assert (
            a.post("/v1/hashsets/SHARED/entries", json={"signals": {"pdq": h}}).status_code == 201
        )
        assert wait_for(lambda: matches(b, h) != [], timeout=5)  # the bound the issue sets
        # and the other way round: written through B, disabled through B, seen by A
        r = b.post("/v1/hashsets/SHARED/entries", json={"signals": {"pdq": g}})
        assert r.status_code == 201
        assert wait_for(lambda: matches(a, g) != [], timeout=5)
        assert b.post(f"/v1/hashsets/SHARED/entries/{r.json()['entry']}/disable").status_code == 200
        assert wait_for(lambda: matches(a, g) == [], timeout=5)
        assert matches(a, h) != [] and matches(b, h) != []


def test_webhooks_are_delivered_once_across_instances(
    url: str, instances: tuple[Server, Server]
) -> None:
    keys = make_keys(url)
    receiver = Receiver()
    receiver.failing = False
    with open_store(url) as store:
        ActionRepository(store.db).add_webhook(receiver.url, SECRET)
    one, two = instances
    h = pdq()
    try:
        with one.client(keys["curator"]) as a, two.client(keys["matcher"]) as b:
            a.post("/v1/hashsets", json={"name": "HOOKED"})
            a.post("/v1/hashsets/HOOKED/entries", json={"signals": {"pdq": h}})
            assert wait_for(lambda: matches(b, h) != [], timeout=10)  # 1 event from B so far
            for _ in range(5):
                assert matches(a, h) and matches(b, h)  # 10 more, 5 through each
            # both instances' delivery threads race for the same queue
            assert wait_for(lambda: len(receiver.delivered) >= 11, timeout=30)
            time.sleep(2.0)  # nothing more arrives: each event once
        events = receiver.delivered
        ids = [e["event_id"] for e in events]
        assert len(ids) == 11 and len(set(ids)) == 11
        assert all(e["_signature_ok"] for e in events)
        with open_store(url) as store:
            status = ActionRepository(store.db).queue_status()
        assert status == {"pending": 0, "delivered": 11, "failed": 0}
    finally:
        receiver.close()


def requests_counted(server: Server, key: str) -> int:
    """``vigil_http_requests_total`` of GET /v1/match with status 200 on one instance."""
    with server.client(key) as c:
        text = c.get("/metrics").text
    total = 0
    for line in text.splitlines():
        if line.startswith("vigil_http_requests_total{") and all(
            part in line for part in ('route="/v1/match"', 'method="GET"', 'status="200"')
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_rate_limits_and_metrics_are_per_instance(
    url: str, instances: tuple[Server, Server]
) -> None:
    keys = make_keys(url)
    one, two = instances
    h = pdq()
    with one.client(keys["matcher"]) as a, two.client(keys["matcher"]) as b:
        for _ in range(3):
            matches(a, h)
        for _ in range(5):
            matches(b, h)
    # each instance counts its own requests: the cluster's total is the sum (docs/scale.md)
    assert requests_counted(one, keys["matcher"]) == 3
    assert requests_counted(two, keys["matcher"]) == 5
    # the slow key (0.5/s) is refused by A, and B, with its own bucket, still answers it
    with one.client(keys["slow"]) as a:
        codes = [a.get("/v1/hashsets").status_code for _ in range(6)]
    assert codes[-1] == 429
    with two.client(keys["slow"]) as b:
        assert b.get("/v1/hashsets").status_code == 200
