"""Two serving processes on one store: a write through one is honoured by the other
without a restart, and a grown set is extended, not reloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.web.server import Server, wait_for
from vigil.hashsets.model import Entry, HashSetInfo
from vigil.services.catalog import Catalog
from vigil.store import open_store
from vigil.store.curation import Curation

rng = np.random.default_rng(31)


def pdq() -> str:
    return rng.bytes(32).hex()


def test_two_processes_see_each_others_writes(
    store_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    h = pdq()
    home = tmp_path / "home"
    one = Server(store_url, home, VIGIL_SERVE_POLL_SECONDS="1").start()
    two = Server(store_url, home, VIGIL_SERVE_POLL_SECONDS="1").start()
    try:
        with one.client(keys["curator"]) as a, two.client(keys["matcher"]) as b:

            def seen_by_b() -> bool:
                return b.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).json() != {}

            assert a.post("/c/banks", json={"name": "SHARED"}).status_code == 201
            added = a.post("/c/bank/SHARED/signal", json={"pdq": h}).json()
            # the service polls every second; 10 s is a bound for a loaded CI machine
            assert wait_for(seen_by_b, timeout=10)
            a.put(f"/c/bank/SHARED/content/{added['id']}", json={"disable_until_ts": 0})
            assert wait_for(lambda: not seen_by_b(), timeout=10)
            # a set imported by the CLI is seen too
            with open_store(store_url) as store:
                store.hashsets.replace(HashSetInfo(name="IMPORTED"), [Entry(pdq=(g := pdq()))])
            assert wait_for(
                lambda: (
                    "IMPORTED"
                    in b.get("/m/lookup", params={"signal_type": "pdq", "signal": g}).json()
                ),
                timeout=10,
            )
    finally:
        one.stop()
        two.stop()


def test_a_grown_set_is_extended_not_reloaded(store_url: str) -> None:
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="big"), [Entry(pdq=pdq()) for _ in range(300)])
        first = Catalog(store)
        first.refresh()
        assert len(first.pdq) == 300
        extra = pdq()
        Curation(store.db).add_entry("big", {"pdq": extra})
        second = Catalog(store)
        assert second.refresh() is True
        assert second.pdq.delta_size == 1  # one row added, the 300 not read again
        assert len(second.pdq) == 301 and len(second.pdq.query(extra)) == 1
        assert Catalog(store).refresh() is False
