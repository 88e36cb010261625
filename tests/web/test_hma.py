"""HMA-compatible routes: an HMA client's flow, HMA's shapes, and what Vigil does better."""

from __future__ import annotations

import numpy as np
import pytest

from tests.web.media import jpeg
from tests.web.server import Server, wait_for

rng = np.random.default_rng(11)


def pdq() -> str:
    return rng.bytes(32).hex()


def near(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def test_hma_client_flow(server: Server, keys: dict[str, str]) -> None:
    h = pdq()
    with server.client(keys["curator"], header="x-api-key") as c:
        r = c.post("/c/banks", json={"name": "TEST_BANK"})
        assert r.status_code == 201
        assert r.json() == {"matching_enabled_ratio": 1.0, "name": "TEST_BANK"}
        assert c.post("/c/banks", json={"name": "TEST_BANK"}).status_code == 403
        bad = c.post("/c/banks", json={"name": "lower"})
        assert bad.status_code == 400 and "UPPER_WITH_UNDERSCORE" in bad.json()["message"]

        added = c.post("/c/bank/TEST_BANK/signal", json={"pdq": h, "note": "benign test"})
        assert added.status_code == 200
        content_id = added.json()["id"]
        assert added.json() == {"id": content_id, "signals": {"pdq": h}}

        # md5 is a signal type too (HMA has none for images)
        md5 = rng.bytes(16).hex()
        assert c.post("/c/bank/TEST_BANK/signal", json={"md5": md5}).status_code == 200

        def lookup() -> dict:
            return c.get("/m/lookup", params={"signal_type": "pdq", "signal": near(h, 7)}).json()

        assert wait_for(lambda: lookup() != {})
        assert lookup() == {"TEST_BANK": [{"bank_content_id": content_id, "distance": "7"}]}
        assert c.get("/m/lookup", params={"signal_type": "pdq", "signal": pdq()}).json() == {}
        exact = c.get("/m/lookup", params={"signal_type": "md5", "signal": md5.upper()}).json()
        assert list(exact) == ["TEST_BANK"]

        raw = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": h})
        assert raw.json() == {"matches": [content_id]}
        raw = c.get(
            "/m/raw_lookup",
            params={"signal_type": "pdq", "signal": h, "include_distance": "true"},
        )
        assert raw.json() == {"matches": [{"bank_content_id": content_id, "distance": "0"}]}

        cmp = c.post("/m/compare", json={"pdq": [h, near(h, 20)]})
        assert cmp.json() == {"pdq": [True, {"distance": 20}]}
        assert c.post("/m/compare", json={"pdq": [h, near(h, 40)]}).json()["pdq"][0] is False

        # hash an upload, bank it, match it by upload
        photo = jpeg(seed=4)
        hashed = c.post("/h/hash", files={"photo": ("p.jpg", photo, "image/jpeg")})
        assert hashed.status_code == 200 and len(hashed.json()["pdq"]) == 64
        banked = c.post(
            "/c/bank/TEST_BANK/content",
            files={"photo": ("p.jpg", photo, "image/jpeg")},
            data={"note": "n", "metadata": '{"content_id": "abc"}'},
        )
        assert banked.status_code == 200
        assert banked.json()["signals"]["pdq"] == hashed.json()["pdq"]
        got = c.get(f"/c/bank/TEST_BANK/content/{banked.json()['id']}").json()
        assert got["note"] == "n"
        assert got["metadata"] == {
            "content_id": "abc",
            "content_uri": None,
            "json": None,
            "collab": None,
        }
        assert got["disable_until_ts"] == 1

        def by_upload() -> dict:
            return c.post("/m/lookup", files={"photo": ("q.jpg", photo, "image/jpeg")}).json()

        assert wait_for(lambda: by_upload()["pdq"] != {})
        assert by_upload()["pdq"]["TEST_BANK"][0]["bank_content_id"] == banked.json()["id"]

        # disabling (HMA's PUT .../content/<id>) hides it from every lookup, raw too
        r = c.put(f"/c/bank/TEST_BANK/content/{content_id}", json={"disable_until_ts": 0})
        assert r.status_code == 200 and r.json()["disable_until_ts"] == 0
        assert wait_for(
            lambda: (
                c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": h}).json()
                == {"matches": []}
            )
        )
        assert lookup() == {}

        # banks: list, show, rename, ratio, delete
        assert {"matching_enabled_ratio": 1.0, "name": "TEST_BANK"} in c.get("/c/banks").json()
        renamed = c.put("/c/bank/TEST_BANK", json={"name": "OTHER_BANK", "enabled_ratio": 0.5})
        assert renamed.json() == {"matching_enabled_ratio": 0.5, "name": "OTHER_BANK"}
        assert c.get("/c/bank/TEST_BANK").status_code == 404
        assert c.get("/c/bank/OTHER_BANK").json()["name"] == "OTHER_BANK"
        assert c.delete("/c/bank/OTHER_BANK").json() == {"message": "Done"}
        assert c.get("/c/bank/OTHER_BANK").status_code == 404
        assert c.get("/status").text == "I-AM-ALIVE"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_hma_bad_input_is_4xx(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["curator"]) as c:
        r = c.get("/m/lookup", params={"signal_type": "pdq", "signal": "ABC"})
        assert r.status_code == 400 and r.json()["message"].startswith("invalid signal:")
        r = c.get("/m/lookup", params={"signal_type": "nope", "signal": "00"})
        assert r.status_code == 400 and "No such SignalType 'nope'" in r.json()["message"]
        assert c.get("/m/lookup").status_code == 400
        # a non-image upload: HMA answers 500, Vigil a 4xx naming the problem
        r = c.post("/h/hash", files={"photo": ("x.jpg", b"not an image at all", "image/jpeg")})
        assert r.status_code == 415 and "not an image or video" in r.json()["message"]
        r = c.post("/h/hash", files={"sound": ("x.jpg", jpeg(), "image/jpeg")})
        assert r.status_code == 400 and "content_type" in r.json()["message"]
        r = c.post("/c/bank/NO_SUCH/signal", json={"pdq": pdq()})
        assert r.status_code == 404 and r.json()["message"] == "bank 'NO_SUCH' not found"
        assert c.post("/c/banks", content=b"{not json").status_code == 400
        assert c.post("/m/compare", json={"pdq": [pdq()]}).status_code == 400
        assert c.post("/m/compare", json=[1, 2]).status_code == 400
        r = c.post("/m/compare", json={"pdq": ["xyz", pdq()]})
        assert r.status_code == 400 and r.json()["message"].startswith("Invalid pdq hash")


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_misses_answer_alike_with_or_without_the_fast_path(
    server: Server, keys: dict[str, str]
) -> None:
    """A miss is answered before routing; with a set filter it goes through the route."""
    h = pdq()
    with server.client(keys["curator"]) as c:
        c.post("/v1/hashsets", json={"name": "s"})
        fast = c.get("/v1/match", params={"signal_type": "pdq", "signal": h.upper()})
        routed = c.get("/v1/match", params={"signal_type": "pdq", "signal": h, "hashsets": "s"})
        assert fast.status_code == routed.status_code == 200
        assert fast.json() == routed.json() == {"matches": [], "event_id": None}
        assert c.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).json() == {}
        seeded = c.get("/m/lookup", params={"signal_type": "pdq", "signal": h, "seed": "1"})
        assert seeded.json() == {}
    with server.client() as anonymous:
        assert (
            anonymous.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).status_code
            == 401
        )
    with server.client(keys["slow"]) as slow:
        codes = {
            slow.get("/v1/match", params={"signal_type": "pdq", "signal": h}).status_code
            for _ in range(4)
        }
        assert 429 in codes


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_video_upload(server: Server, keys: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.factory import video

    clip = video(tmp_path / "clip.mp4", seconds=3).read_bytes()
    with server.client(keys["curator"]) as c:
        c.post("/c/banks", json={"name": "VIDEOS"})
        plain = c.post("/h/hash", files={"video": ("v.mp4", clip, "video/mp4")}).json()
        assert list(plain) == ["video_md5"]  # HMA's one video signal type, by default
        hashed = c.post(
            "/h/hash?types=video_md5,md5,vpdq", files={"video": ("v.mp4", clip, "video/mp4")}
        ).json()
        assert hashed["video_md5"] == hashed["md5"] == plain["video_md5"]
        assert hashed["vpdq"].count(";") >= 2
        banked = c.post(
            "/c/bank/VIDEOS/content?types=video_md5,vpdq",
            files={"video": ("v.mp4", clip, "video/mp4")},
        )
        assert banked.status_code == 200

        def found() -> dict:
            return c.post(
                "/m/lookup?types=video_md5,vpdq", files={"video": ("v.mp4", clip, "video/mp4")}
            ).json()

        assert wait_for(lambda: found()["vpdq"] != {})
        assert list(found()["video_md5"]) == ["VIDEOS"]
        r = c.post("/h/hash", files={"photo": ("v.mp4", clip, "video/mp4")})
        assert r.status_code == 400 and "not an image" in r.json()["message"]


def test_content_ids_are_small_sequential_and_never_reused(
    server: Server, keys: dict[str, str]
) -> None:
    with server.client(keys["curator"]) as c:
        assert c.post("/c/banks", json={"name": "FIRST"}).status_code == 201
        first = c.post("/c/bank/FIRST/signal", json={"pdq": pdq()}).json()["id"]
        second = c.post("/c/bank/FIRST/signal", json={"pdq": pdq()}).json()["id"]
        assert (first, second) == (1, 2)
        # deleting the newest bank and making another must not hand 1 or 2 out again
        assert c.delete("/c/bank/FIRST").status_code == 200
        assert c.get(f"/c/bank/FIRST/content/{second}").status_code == 404
        assert c.post("/c/banks", json={"name": "SECOND"}).status_code == 201
        h = pdq()
        third = c.post("/c/bank/SECOND/signal", json={"pdq": h}).json()["id"]
        assert third == 3
        # deleting content retires its id: 404, no longer matched, the next id is new
        assert c.delete("/c/bank/SECOND/content/3").json() == {"deleted": 1}
        assert c.delete("/c/bank/SECOND/content/3").json() == {"deleted": 0}
        assert c.get("/c/bank/SECOND/content/3").status_code == 404
        assert c.get("/m/lookup", params={"signal_type": "pdq", "signal": h}).json() == {}
        assert c.post("/c/bank/SECOND/signal", json={"pdq": h}).json()["id"] == 4
        # an entry added through /v1 gets the next id when an HMA route first shows it
        c.post("/v1/hashsets/SECOND/entries", json={"signals": {"pdq": near(h, 40)}})
        found = c.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near(h, 40)})
        assert found.json() == {"matches": [5]}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("log_urls", ["0", "1"])
def test_fetched_urls_reach_the_match_log_only_when_configured(
    store_url: str,
    keys: dict[str, str],
    tmp_path,
    log_urls: str,  # type: ignore[no-untyped-def]
) -> None:
    import functools
    import http.server
    import threading

    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "p.jpg").write_bytes(jpeg(seed=9))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    origin = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{origin.server_address[1]}/p.jpg"
    env = {"VIGIL_SERVE_FETCH_ALLOW": "127.0.0.1", "VIGIL_SERVE_LOG_URLS": log_urls}
    try:
        with Server(store_url, tmp_path / "home", **env) as running:
            with running.client(keys["curator"]) as c:
                c.post("/c/banks", json={"name": "URLS"})
                added = c.post(f"/c/bank/URLS/content?url={url}")
                assert added.status_code == 200 and list(added.json()["signals"]) == ["pdq"]
                found = c.get("/m/lookup", params={"url": url}).json()
                assert found == {"pdq": {"URLS": [{"bank_content_id": 1, "distance": "0"}]}}
            with running.client(keys["admin"]) as admin:
                log = admin.get("/v1/matchlog").json()
            assert len(log) == 1
            assert (url in str(log[0])) is (log_urls == "1")
    finally:
        origin.shutdown()
        origin.server_close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_hma_shapes_status_codes_and_open_routes(
    store_url: str, keys: dict[str, str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """HMA's shapes where Vigil used to differ, under `vigil serve --hma-open-routes`."""
    md5 = rng.bytes(16).hex()
    with Server(store_url, tmp_path / "home", serve_args=["--hma-open-routes"]) as running:
        assert "WARNING: --hma-open-routes" in running.log.read_text()
        with running.client() as c:  # no key at all
            home = c.get("/", follow_redirects=False)
            assert home.status_code == 302 and home.headers["location"] == "/status"
            assert c.post("/c/banks", json={"name": "OPEN"}).status_code == 201
            assert c.post("/c/bank/OPEN/signal", json={"video_md5": md5}).json() == {
                "id": 1,
                "signals": {"video_md5": md5},
            }
            found = c.get("/m/lookup", params={"signal_type": "video_md5", "signal": md5})
            assert found.json() == {"OPEN": [{"bank_content_id": 1, "distance": "-"}]}
            same = c.post("/m/compare", json={"video_md5": [md5, md5], "pdq": ["0" * 64] * 2})
            assert same.json() == {"video_md5": [True, {}], "pdq": [True, {"distance": 0}]}
            status = c.get("/m/index/status").json()
            assert set(status) == {"pdq", "video_md5"}
            assert status["video_md5"]["size"] == 1 and status["pdq"]["present"] is True
            assert c.get("/c/content_type").json() == [
                {"name": "photo", "enabled": True},
                {"name": "video", "enabled": True},
            ]
            assert set(c.get("/c/signal_type/index").json()["pdq"]) == {
                "db_size",
                "index_size",
                "index_out_of_date",
                "newest_db_item",
                "index_built_to",
            }
            missing = c.get("/m/raw_lookup", params={"signal_type": "pdq"})
            assert missing.status_code == 422 and missing.json()[0]["loc"] == ["signal"]
            bad_flag = c.get(
                "/m/raw_lookup",
                params={"signal_type": "pdq", "signal": "0" * 64, "include_distance": "maybe"},
            )
            assert bad_flag.status_code == 422
            assert c.post("/c/banks", json={}).status_code == 422
            photo = c.post("/h/hash", files={"photo": ("p.jpg", jpeg(), "image/jpeg")}).json()
            assert list(photo) == ["pdq"]  # no md5/sha1/sha256 unless asked
            asked = c.post("/h/hash?types=pdq,sha256", files={"photo": ("p.jpg", jpeg())})
            assert list(asked.json()) == ["pdq", "sha256"]
            assert (
                c.post("/h/hash?types=tmk", files={"photo": ("p.jpg", jpeg())}).status_code == 400
            )
            put = c.put("/c/bank/OPEN/content/1", json={"disable_until_ts": 0, "note": "n"})
            assert put.json() == {
                "id": 1,
                "disable_until_ts": 0,
                "collab_metadata": {},
                "original_media_uri": None,
                "bank": {"matching_enabled_ratio": 1.0, "name": "OPEN"},
                "user_metadata": None,
                "note": "n",
            }
            # /v1 and the admin routes still need a key
            assert c.get("/v1/hashsets").status_code == 401
            assert c.get("/v1/matchlog").status_code == 401
