"""Vigil's /v1 routes over HTTP: sets, entries, thresholds, disabling, batches, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.web.media import bomb, jpeg
from tests.web.server import Server, wait_for

rng = np.random.default_rng(23)


def pdq() -> str:
    return rng.bytes(32).hex()


def near(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def test_sets_entries_and_matching(server: Server, keys: dict[str, str]) -> None:
    h, sha = pdq(), rng.bytes(32).hex()
    with server.client(keys["curator"]) as c:
        r = c.post("/v1/hashsets", json={"name": "alerts", "pdq_threshold": 10})
        assert r.status_code == 201 and r.json()["pdq_threshold"] == 10
        assert c.post("/v1/hashsets", json={"name": "alerts"}).status_code == 409
        r = c.post(
            "/v1/hashsets/alerts/entries",
            json={
                "signals": {"pdq": h, "sha256": sha.upper()},
                "category": "1",
                "note": "benign synthetic",
                "metadata": {"source": "test"},
            },
        )
        assert r.status_code == 201
        entry = r.json()
        assert entry["entry"] == 0 and entry["signals"]["sha256"] == sha
        assert entry["note"] == "benign synthetic" and entry["metadata"] == {"source": "test"}

        def match(value: str, kind: str = "pdq") -> list[dict]:
            got = c.get("/v1/match", params={"signal_type": kind, "signal": value})
            assert got.status_code == 200, got.text
            return got.json()["matches"]

        assert wait_for(lambda: match(near(h, 8)) != [])
        found = match(near(h, 8))[0]
        assert (found["hashset"], found["distance"], found["category"]) == ("alerts", 8, "1")
        assert match(near(h, 12)) == []  # beyond the set's threshold of 10
        assert c.patch("/v1/hashsets/alerts", json={"pdq_threshold": 20}).status_code == 200
        assert wait_for(lambda: match(near(h, 12)) != [])
        assert match(sha, "sha256")[0]["signal_type"] == "sha256"

        # an upload: by hash and by upload
        photo = jpeg(seed=9)
        r = c.post(
            "/v1/hashsets/alerts/entries/upload",
            files={"file": ("a.jpg", photo)},
            data={"category": "2", "note": "upload"},
        )
        assert r.status_code == 201 and r.json()["category"] == "2"
        upload_entry = r.json()["entry"]

        def by_upload() -> list[dict]:
            return c.post("/v1/match", files={"file": ("b.jpg", photo)}).json()["matches"]

        assert wait_for(lambda: any(m["entry"] == upload_entry for m in by_upload()))
        hashed = c.post("/v1/hash", files={"file": ("b.jpg", photo)}).json()
        assert hashed["type"] == "image/jpeg" and "path" not in hashed

        # disabling: for ever, then until a time, then enabled again
        assert c.post("/v1/hashsets/alerts/entries/0/disable").json()["disabled"] is True
        assert wait_for(lambda: match(h) == [] and match(sha, "sha256") == [])
        until = time.time() + 3600
        r = c.post("/v1/hashsets/alerts/entries/0/disable", json={"until": until})
        assert r.json()["disabled_until"] == until and match(h) == []
        assert c.post("/v1/hashsets/alerts/entries/0/enable").json()["disabled"] is False
        assert wait_for(lambda: match(h) != [])
        r = c.post("/v1/hashsets/alerts/entries/0/disable", json={"until": "2001-01-01T00:00:00Z"})
        assert r.status_code == 400

        # batch: a hit, a miss, a bad hash, an exact type
        batch = c.post(
            "/v1/match/batch",
            json={
                "queries": [
                    {"signal_type": "pdq", "signal": near(h, 3)},
                    {"signal_type": "pdq", "signal": pdq()},
                    {"signal_type": "pdq", "signal": "zz"},
                    {"signal_type": "sha256", "signal": sha},
                ]
            },
        ).json()["results"]
        assert [len(r["matches"]) for r in batch] == [1, 0, 0, 1]
        assert "invalid" in batch[2]["error"]
        too_many = [{"signal_type": "md5", "signal": "0" * 32}] * 10_001
        r = c.post("/v1/match/batch", json={"queries": too_many})
        assert r.status_code == 413 and "10,000" in r.json()["message"]

        # rename, status, delete
        assert c.patch("/v1/hashsets/alerts", json={"name": "renamed"}).json()["name"] == "renamed"
        assert wait_for(lambda: match(h) != [] and match(h)[0]["hashset"] == "renamed")
        status = c.get("/v1/index/status").json()
        assert status["pdq"]["entries"] == 2 and status["fresh"] is True
        assert c.delete("/v1/hashsets/renamed").status_code == 200
        assert wait_for(lambda: match(h) == [])
        assert c.get("/v1/hashsets/renamed").status_code == 404


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_bad_input_gets_4xx_with_a_message(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["curator"]) as c:
        c.post("/v1/hashsets", json={"name": "s"})
        cases = [
            c.post("/v1/hash", files={"file": ("x.txt", b"plain text, not media")}),
            c.post("/v1/hash", files={"file": ("bomb.png", bomb())}),
            c.post("/v1/hash", files={"file": ("cut.jpg", jpeg()[:200])}),
            c.post(
                "/v1/hash",
                content=b"--x\r\nbroken",
                headers={"content-type": "multipart/form-data; boundary=x"},
            ),
            c.post("/v1/hash", content=b"{}", headers={"content-type": "application/json"}),
            c.post("/v1/hash", files={"file": ("big.bin", b"\0" * (3 << 20))}),
            c.get("/v1/match", params={"signal_type": "pdq", "signal": "12"}),
            c.get("/v1/match", params={"signal_type": "tmk", "signal": "12"}),
            c.get("/v1/match", params={"signal_type": "pdq", "signal": pdq(), "hashsets": "nope"}),
            c.post("/v1/hashsets/nope/entries", json={"signals": {"md5": "0" * 32}}),
            c.post("/v1/hashsets/s/entries", json={"signals": {"md5": "0" * 31}}),
            c.post("/v1/hashsets/s/entries", json={"signals": {}}),
            c.post("/v1/hashsets/s/entries", json={"signals": "x"}),
            c.post("/v1/hashsets/s/entries/99/disable"),
            c.post("/v1/hashsets", json={"name": "../etc"}),
            c.post("/v1/hashsets", json={"name": "t", "pdq_threshold": 999}),
            c.post("/v1/match/batch", content=b"[", headers={"content-type": "application/json"}),
            c.get("/v1/hashsets/s/entries/notanumber"),
            c.get(f"/v1/hashsets/s/entries/{10**30}"),
            c.post(f"/v1/hashsets/s/entries/{-1}/disable"),
            c.get(f"/c/bank/S/content/{10**30}"),
        ]
        for r in cases:
            assert 400 <= r.status_code < 500, (r.status_code, r.text)
            assert r.json()["message"], r.text
        assert cases[0].status_code == 415
        assert "pixels" in cases[1].json()["message"] or "bomb" in cases[1].json()["message"]
        assert cases[5].status_code == 413
        assert cases[8].status_code == 404 and cases[9].status_code == 404


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_metrics_and_probes(server: Server, keys: dict[str, str]) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").json()["status"] == "ready"
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/docs").status_code == 200
        assert "/v1/match" in anonymous.get("/openapi.json").json()["paths"]
    with server.client(keys["matcher"]) as c:
        c.get("/v1/match", params={"signal_type": "pdq", "signal": pdq()})
        text = c.get("/metrics").text
        assert 'vigil_http_requests_total{method="GET",route="/v1/match",status="200"}' in text
        assert "vigil_http_request_duration_seconds_bucket" in text
        assert 'vigil_index_entries{index="pdq"}' in text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_vpdq_and_ignore_sets(server: Server, keys: dict[str, str]) -> None:
    frames = [f"{i * 30},100,{pdq()},{float(i):.3f}" for i in range(5)]
    video = ";".join(frames)
    md5 = rng.bytes(16).hex()
    with server.client(keys["curator"]) as c:
        c.post("/v1/hashsets", json={"name": "videos"})
        c.post("/v1/hashsets", json={"name": "known", "kind": "ignore"})
        assert (
            c.post("/v1/hashsets/videos/entries", json={"signals": {"vpdq": video}}).status_code
            == 201
        )
        c.post("/v1/hashsets/known/entries", json={"signals": {"md5": md5}})

        def match(kind: str, value: str) -> list[dict]:
            return c.get("/v1/match", params={"signal_type": kind, "signal": value}).json()[
                "matches"
            ]

        assert wait_for(lambda: match("vpdq", video) != [])
        hit = match("vpdq", video)[0]
        assert hit["hashset"] == "videos" and hit["query_percent"] == 100.0
        known = match("md5", md5)
        assert known[0]["kind"] == "ignore"
    with server.client(keys["admin"]) as admin:
        logged = admin.get("/v1/matchlog").json()
        assert all(m["matches"][0]["kind"] != "ignore" for m in logged)
