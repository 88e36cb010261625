"""Simultaneous ``POST /c/banks`` of one name (issue 19, item 2): exactly one 201.

Eight clients create one bank name at the same moment, round after round, against a
server of several worker processes: exactly one creator gets 201, the others HMA's
403 for an existing bank, none a 5xx; and the bank that was announced keeps what is
added to it (no later creator drops it).
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from tests.web.server import Server

CLIENTS = 8
ROUNDS = 4


def _race(server: Server, key: str, name: str) -> list[int]:
    """``CLIENTS`` simultaneous creates of ``name``; their status codes."""
    barrier = threading.Barrier(CLIENTS)
    codes: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        with server.client(key, header="x-api-key") as client:
            barrier.wait()
            try:
                code = client.post("/c/banks", json={"name": name}).status_code
            except httpx.HTTPError:  # a dropped connection counts as a failure
                code = -1
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=create) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(codes)


def test_simultaneous_creates_of_one_bank_give_exactly_one_201(
    store_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    with Server(store_url, tmp_path / "home", serve_args=["--workers", "2"]) as server:
        for round_number in range(ROUNDS):
            name = f"RACE_{round_number}"
            codes = _race(server, keys["curator"], name)
            assert codes == [201] + [403] * (CLIENTS - 1), codes
            with server.client(keys["curator"], header="x-api-key") as client:
                added = client.post(f"/c/bank/{name}/signal", json={"md5": f"{round_number:032x}"})
                assert added.status_code == 200, added.text
                again = _race(server, keys["curator"], name)
                assert again == [403] * CLIENTS, again
                banks = [b["name"] for b in client.get("/c/banks").json()]
                assert banks.count(name) == 1
                content = client.get(f"/c/bank/{name}/content/{added.json()['id']}")
                assert content.status_code == 200, content.text
