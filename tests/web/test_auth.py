"""API keys: required, hashed, role-checked, rate-limited, revocable; the CLI commands."""

from __future__ import annotations

import pytest

from tests.web.server import Server, wait_for
from vigil.cli.main import main
from vigil.store import open_store


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_keys_roles_and_limits(server: Server, keys: dict[str, str], store_url: str) -> None:
    with server.client() as anonymous:
        r = anonymous.get("/v1/hashsets")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/c/banks").status_code == 401
        assert anonymous.get("/status").status_code == 200  # liveness only, as HMA
        assert anonymous.get("/status/live").text == "I-AM-ALIVE"
    with server.client("vgl_not-a-key") as wrong:
        assert wrong.get("/v1/hashsets").json()["error"] == "unauthorized"
    with server.client(keys["matcher"], header="x-api-key") as matcher:
        assert matcher.get("/c/banks").status_code == 200
        r = matcher.post("/c/banks", json={"name": "NOPE"})
        assert r.status_code == 403 and "curator" in r.json()["message"]
        assert matcher.get("/v1/apikeys").status_code == 403
    with server.client(keys["curator"]) as curator:
        assert curator.post("/v1/hashsets", json={"name": "ok"}).status_code == 201
        assert curator.get("/v1/apikeys").status_code == 403
    with server.client(keys["admin"]) as admin:
        listed = admin.get("/v1/apikeys").json()
        assert {k["role"] for k in listed} == {"matcher", "curator", "admin"}
        assert all("key" not in k and "key_hash" not in k for k in listed)
        made = admin.post("/v1/apikeys", json={"name": "made", "role": "matcher"}).json()
        with server.client(made["key"]) as fresh:
            assert fresh.get("/v1/hashsets").status_code == 200
            assert admin.delete("/v1/apikeys/made").status_code == 200
            assert wait_for(lambda: fresh.get("/v1/hashsets").status_code == 401)
    with server.client(keys["slow"]) as slow:
        codes = [slow.get("/v1/hashsets").status_code for _ in range(4)]
        assert 429 in codes
        limited = slow.get("/v1/hashsets")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # keys are stored hashed: the database holds no key
    with open_store(store_url) as store:
        stored = {r[0] for r in store.db.execute("SELECT key_hash FROM api_keys")}
    assert not any(k in stored for k in keys.values())


def run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_apikey_and_webhook_cli(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["apikey", "create", "--role", "curator", "--name", "cli"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("vgl_") and len(key) > 40
    assert run(["apikey", "list"]) == 0
    assert "cli\tcurator" in capsys.readouterr().out
    assert run(["apikey", "create", "--role", "root", "--name", "x"]) == 2
    assert run(["apikey", "revoke", "cli"]) == 0
    assert run(["apikey", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert run(["webhook", "add", "http://127.0.0.1:9/hook", "--secret", "s" * 20]) == 0
    assert run(["webhook", "list"]) == 0
    assert "http://127.0.0.1:9/hook" in capsys.readouterr().out
    assert run(["webhook", "add", "ftp://x", "--secret", "s" * 20]) == 2
    assert run(["webhook", "remove", "http://127.0.0.1:9/hook"]) == 0


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_vigil_serve_command(store_url: str, keys: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``vigil serve`` itself: options to settings, uvicorn on loopback."""
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    from tests.web.server import free_port

    port = free_port()
    vigil = Path(sys.executable).parent / "vigil"
    proc = subprocess.Popen(
        [str(vigil), "serve", "--port", str(port), "--max-upload-mb", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(base + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, timeout=60)
        headers = {"X-API-Key": keys["curator"]}
        big = httpx.post(
            base + "/v1/hash", files={"file": ("x", b"\0" * (2 << 20))}, headers=headers
        )
        assert big.status_code == 413

        def chunks():  # no Content-Length: counted as it arrives; over the 4 MiB JSON limit
            for _ in range(80):
                yield b"x" * 65536

        streamed = httpx.post(
            base + "/v1/hashsets",
            content=chunks(),
            headers={**headers, "content-type": "application/json"},
        )
        assert streamed.status_code == 413 and streamed.json()["error"] == "too_large"
        r = httpx.get(base + "/h/hash", params={"url": "http://127.0.0.1/x"}, headers=headers)
        assert r.status_code == 400 and "not a public address" in r.json()["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
