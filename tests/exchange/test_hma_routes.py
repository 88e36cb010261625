"""HMA's exchange routes, driven the way HMA's own API tests drive them.

As OpenMediaMatch's tests/test_api.py does (test_exchange_delete,
test_exchange_get_fetch_status, test_exchange_api_set_auth, test_exchange_api_schema),
against ``vigil serve`` with HMA's open routes. Then an exchange configured through
them is pulled, and its status follows the pull.
"""

from __future__ import annotations

import pytest

from tests.cli_runner import vigil
from tests.exchange.fakes import FakeServer, Request, as_json
from tests.web.server import Server, wait_for


@pytest.fixture
def client(store_url, tmp_path):
    server = Server(store_url, tmp_path / "serve", VIGIL_SERVE_HMA_OPEN_ROUTES="1")
    with server, server.client() as c:
        yield c


def test_exchange_delete(client):
    # deleting an exchange that doesn't exist returns 200
    assert client.delete("/c/exchange/TEST_EXCHANGE").status_code == 200
    post = client.post(
        "/c/exchanges", json={"api": "file", "bank": "FOO_EXCHANGE", "api_json": {"url": "/x"}}
    )
    assert post.status_code == 201 and post.json() == {"message": "Created successfully"}
    assert client.get("/c/exchanges").json() == ["FOO_EXCHANGE"]
    delete = client.delete("/c/exchange/FOO_EXCHANGE")
    assert delete.status_code == 200
    assert delete.json()["message"] == "Exchange deleted"
    assert client.get("/c/exchanges").json() == []


def test_exchange_get_fetch_status(client):
    assert client.get("/c/exchange/NONEXISTENT_EXCHANGE/status").status_code == 404
    post = client.post(
        "/c/exchanges", json={"api": "file", "bank": "BAR_EXCHANGE", "api_json": {"url": "/x"}}
    )
    assert post.status_code == 201
    resp = client.get("/c/exchange/BAR_EXCHANGE/status")
    assert resp.status_code == 200
    data = resp.json()
    for field in (
        "checkpoint_ts",
        "running_fetch_start_ts",
        "last_fetch_complete_ts",
        "last_fetch_succeeded",
        "up_to_date",
        "fetched_items",
    ):
        assert field in data
    assert data["fetched_items"] == 0 and data["up_to_date"] is False


def test_exchange_apis_and_schema(client):
    apis = client.get("/c/exchanges/apis").json()
    assert set(apis) == {"vigil", "ncmec", "stopncii", "threatexchange", "hma", "file"}
    assert client.get("/c/exchanges/api/file").json() == {
        "supports_authentification": False,
        "has_set_authentification": False,
    }
    assert client.get("/c/exchanges/api/ncmec").json()["supports_authentification"] is True
    assert client.get("/c/exchanges/api/banana").status_code == 400
    schema = client.get("/c/exchanges/api/threatexchange/schema").json()
    fields = {f["name"]: f for f in schema["config_schema"]["fields"]}
    assert fields["privacy_group"]["type"] == "number" and fields["privacy_group"]["required"]
    assert {f["name"] for f in schema["credentials_schema"]["fields"]} == {"api_token"}
    assert client.get("/c/exchanges/api/file/schema").json()["credentials_schema"] is None
    assert client.get("/c/exchanges/api/banana/schema").status_code == 404


def test_exchange_create_refusals(client):
    bad = [
        ({"api": "file", "bank": "lower", "api_json": {}}, "must match"),
        ({"api": "file", "bank": "OK", "api_json": []}, "must be object"),
        ({"bank": "OK"}, "is required"),
        ({"api": "nope", "bank": "OK"}, "No such exchange type"),
        ({"api": "hma", "bank": "OK", "api_json": {"url": "http://h"}}, "bank="),
    ]
    for body, message in bad:
        resp = client.post("/c/exchanges", json=body)
        assert resp.status_code == 400 and message in resp.json()["message"], body
    assert client.get("/c/exchanges").json() == []


def test_show_update_and_pull_through_the_routes(client, tmp_path, store_url):
    def hma(req: Request):
        if req.path == "/c/bank/SOURCE/content/1":
            return as_json({"id": 1, "disable_until_ts": 1, "signals": {"pdq": "e5" * 32}})
        return as_json({"message": "not found"}, 404)

    with FakeServer(hma) as fake:
        body = {"api": "hma", "bank": "MIRROR", "api_json": {"url": fake.url, "bank": "SOURCE"}}
        assert client.post("/c/exchanges", json=body).status_code == 201
        shown = client.get("/c/exchange/MIRROR").json()
        assert shown["api"] == "hma" and shown["enabled"] is True and shown["bank"] == "SOURCE"
        off = client.put("/c/exchange/MIRROR", json={"enabled": False})
        assert off.status_code == 200 and off.json()["enabled"] is False
        assert client.put("/c/exchange/MIRROR", json={"enabled": "yes"}).status_code == 400
        # --all skips a disabled exchange
        home = tmp_path / "home"
        out = vigil("exchange", "pull", "--all", home=home, database_url=store_url)
        assert out.returncode == 0 and "MIRROR" not in out.stdout
        client.put("/c/exchange/MIRROR", json={"enabled": True})
        out = vigil("exchange", "pull", "--all", home=home, database_url=store_url)
        assert out.returncode == 0 and "MIRROR: 1 records" in out.stdout, out.stderr
    status = client.get("/c/exchange/MIRROR/status").json()
    assert status["last_fetch_succeeded"] is True and status["up_to_date"] is True
    assert status["fetched_items"] == 1 and status["checkpoint_ts"]

    # the pulled bank is an HMA bank like any other
    def found() -> bool:
        params = {"signal_type": "pdq", "signal": "e5" * 32}
        return "MIRROR" in client.get("/m/lookup", params=params).json()

    assert wait_for(found)
