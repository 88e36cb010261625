"""HMA's own API tests, ported: the same requests and assertions against a real ``vigil serve``.

Each test below names the HMA test it ports (facebook/ThreatExchange,
hasher-matcher-actioner/src/OpenMediaMatch/tests/). HMA's tests drive a Flask test
client on an empty database; here each one drives ``vigil serve --hma-open-routes``
over HTTP on an empty store, on SQLite and on PostgreSQL, with no API key (HMA has
none). Where HMA's test calls its internals (``build_all_indices``, storage
objects, monkeypatched caches), the HTTP part is kept and the internal part is
replaced by what Vigil does on its own (writes are matchable when answered); the
tests that cannot apply at all are listed, with why, in docs/service.md.

Media comes from a local HTTP server, as in HMA's ``image_server`` fixture (two
generated checkerboards); the server's address is on the fetch allow-list
(``VIGIL_SERVE_FETCH_ALLOW``). HMA's tests that fetch from github.com fetch the same
local image here: nothing leaves the machine. Expected PDQ hashes are computed by
HMA's own hasher (python-threatexchange's ``PdqSignal``).
"""

from __future__ import annotations

import functools
import http.server
import threading
import typing as t
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from tests.web.server import Server

IMAGE_URL_TO_PDQ: dict[str, str] = {}


def checkerboard(cell: int) -> Image.Image:
    img = Image.new("RGB", (128, 128))
    pixels = img.load()
    assert pixels is not None
    for x in range(128):
        for y in range(128):
            pixels[x, y] = (255, 255, 255) if (x // cell + y // cell) % 2 else (0, 0, 0)
    return img


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two checkerboards (and a file over the size cap) served from 127.0.0.1."""
    folder = tmp_path_factory.mktemp("images")
    checkerboard(8).save(folder / "image1.jpg", format="JPEG")
    checkerboard(16).save(folder / "image2.jpg", format="JPEG")
    (folder / "big.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * (3 << 20))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: t.Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("image1.jpg", "image2.jpg"):
        IMAGE_URL_TO_PDQ[f"{base}/{name}"] = PdqSignal.hash_from_file(folder / name)
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(store_url: str, tmp_path: Path, image_server: str) -> Iterator[httpx.Client]:
    """``vigil serve --hma-open-routes`` on an empty store; a client with no key."""
    with (
        Server(
            store_url,
            tmp_path / "home",
            serve_args=["--hma-open-routes", "--max-upload-mb", "2"],
            VIGIL_SERVE_FETCH_ALLOW="127.0.0.1",
        ) as server,
        httpx.Client(base_url=server.base, timeout=30) as c,
    ):
        yield c


def create_bank(client: httpx.Client, bank_name: str) -> None:
    post_response = client.post("/c/banks", json={"name": bank_name})
    assert post_response.status_code == 201
    assert post_response.json() == {"matching_enabled_ratio": 1.0, "name": bank_name}


def add_hash_to_bank(
    client: httpx.Client, bank_name: str, image_url: str, content_id: int = 1
) -> None:
    post_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert post_response.status_code == 200
    assert post_response.json() == {
        "id": content_id,
        "signals": {"pdq": IMAGE_URL_TO_PDQ[image_url]},
    }


# -- test_api.py -----------------------------------------------------------------------


def test_status_response(client: httpx.Client) -> None:
    """test_api.py::test_status_response (the HTTP part; the rest patches HMA's cache)."""
    response = client.get("/status")
    assert response.status_code == 200
    assert response.content == b"I-AM-ALIVE"


def test_status_live_always_alive(client: httpx.Client) -> None:
    """test_api.py::test_status_live_always_alive (the HTTP part)."""
    response = client.get("/status/live")
    assert response.status_code == 200
    assert response.content == b"I-AM-ALIVE"


def test_openapi_documentation_available(client: httpx.Client) -> None:
    """test_api.py::test_openapi_documentation_available."""
    response = client.get("/openapi/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload is not None
    assert payload.get("info", {}).get("title") == "Open Media Match API"


def test_lookup_success(client: httpx.Client, image_server: str) -> None:
    """test_api.py::test_lookup_success (no index to build: Vigil keeps it current)."""
    image_url = f"{image_server}/image1.jpg"
    get_resp = client.get(f"/m/lookup?url={image_url}")
    assert get_resp.status_code == 200

    data = httpx.get(image_url).content
    resp = client.post("/m/lookup", files={"photo": ("image1.jpg", data, "image/jpeg")})
    assert resp.status_code == 200
    # It's not really a video, but MD5 is simple that we can fake it
    resp = client.post("/m/lookup", files={"video": ("image1.jpg", data, "image/jpeg")})
    assert resp.status_code == 200


def test_compare_hashes(client: httpx.Client) -> None:
    """test_api.py::test_compare_hashes."""
    specimen1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
    specimen2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"
    resp = client.post("/m/compare", json={"pdq": [specimen1, specimen2]})
    assert resp.json() == {"pdq": [True, {"distance": 9}]}
    bad_inputs: list[t.Any] = [
        ["banana"],
        {"pdq": "banana"},
        {"pdq": []},
        {"pdq": ["banana", "banana"]},
        {"pdq": [specimen1, specimen2, specimen1]},
    ]
    for bad_input in bad_inputs:
        resp = client.post("/m/compare", json=bad_input)
        assert resp.status_code == 400


# -- test_api_banks.py -----------------------------------------------------------------


def test_banks_empty_index(client: httpx.Client) -> None:
    response = client.get("/c/banks")
    assert response.status_code == 200
    assert response.json() == []


def test_banks_create(client: httpx.Client) -> None:
    assert client.post("/c/banks", json={"name": "01_TEST_BANK"}).status_code == 400
    assert client.post("/c/banks", json={"name": "my_test_bank"}).status_code == 400
    post_response = client.post("/c/banks", json={"name": "MY_TEST_BANK_01"})
    assert post_response.status_code == 201
    assert post_response.json() == {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}
    response = client.get("/c/banks")
    assert response.status_code == 200
    assert response.json() == [post_response.json()]


def test_banks_update(client: httpx.Client) -> None:
    assert client.post("/c/banks", json={"name": "MY_TEST_BANK"}).status_code == 201
    assert client.put("/c/bank/MY_TEST_BANK", json={"name": "1_invalid_name"}).status_code == 400
    post_response = client.put("/c/bank/MY_TEST_BANK", json={"name": "MY_TEST_BANK_RENAMED"})
    assert post_response.status_code == 200
    assert post_response.json()["name"] == "MY_TEST_BANK_RENAMED"
    post_response = client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled": False})
    assert post_response.status_code == 200
    assert post_response.json()["matching_enabled_ratio"] == 0
    post_response = client.put("/c/bank/MY_TEST_BANK_RENAMED", json={"enabled_ratio": 0.5})
    assert post_response.status_code == 200
    assert post_response.json()["matching_enabled_ratio"] == 0.5
    get_response = client.get("/c/banks")
    assert get_response.status_code == 200
    banks = get_response.json()
    assert len(banks) == 1
    assert banks[0] == {"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.5}


def test_banks_delete(client: httpx.Client) -> None:
    assert client.post("/c/banks", json={"name": "MY_TEST_BANK"}).status_code == 201
    assert client.delete("/c/bank/MY_TEST_BANK").status_code == 200
    # deleting non existing bank should succeed
    assert client.delete("/c/bank/MY_TEST_BANK").status_code == 200


def test_bank_get_content(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_GET"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json().get("id")
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert get_response.json().get("id") == content_id


def test_bank_get_content_404(client: httpx.Client) -> None:
    bank_name = "TEST_BANK_GET"
    assert client.get(f"/c/bank/{bank_name}/content/1").status_code == 404
    create_bank(client, bank_name)
    assert client.get(f"/c/bank/{bank_name}/content/1").status_code == 404


def test_banks_add_content(client: httpx.Client, image_server: str) -> None:
    bank_name = "NEW_BANK"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    post_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert post_response.status_code == 200, post_response.text
    assert post_response.json() == {"id": 1, "signals": {"pdq": IMAGE_URL_TO_PDQ[image_url]}}


def test_bank_update_content(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_UPDATE"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json().get("id")
    new_disable_ts = int((datetime.now() + timedelta(days=365)).timestamp())
    update_response = client.put(
        f"/c/bank/{bank_name}/content/{content_id}", json={"disable_until_ts": new_disable_ts}
    )
    assert update_response.status_code == 200, update_response.text
    assert update_response.json().get("disable_until_ts") == new_disable_ts


def test_bank_update_content_400(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_UPDATE"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json().get("id")
    update_response = client.put(
        f"/c/bank/{bank_name}/content/{content_id}", json={"disable_until_ts": 9999999999}
    )
    assert update_response.status_code == 400, update_response.text


def test_banks_delete_content(client: httpx.Client, image_server: str) -> None:
    bank_name = "NEW_BANK"
    image_url = f"{image_server}/image1.jpg"
    create_bank(client, bank_name)
    add_hash_to_bank(client, bank_name, image_url, 1)
    post_response = client.delete(f"/c/bank/{bank_name}/content/1")
    assert post_response.status_code == 200
    assert post_response.json() == {"deleted": 1}


def test_banks_add_metadata(client: httpx.Client, image_server: str) -> None:
    bank_name = "NEW_BANK"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    post_request = f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo"
    post_response = client.post(post_request, json={"metadata": {"invalid_metadata": 5}})
    assert post_response.status_code == 400, post_response.text
    post_response = client.post(
        post_request, json={"metadata": {"content_id": "1197433091", "json": {"asdf": {}}}}
    )
    assert post_response.status_code == 200, post_response.text


def test_banks_add_hash_index(client: httpx.Client, image_server: str) -> None:
    """test_api_banks.py::test_banks_add_hash_index (no index build step in Vigil)."""
    bank_name, bank_name_2 = "NEW_BANK", "NEW_BANK_2"
    image_url = f"{image_server}/image1.jpg"
    image_url_2 = f"{image_server}/image2.jpg"
    create_bank(client, bank_name)
    add_hash_to_bank(client, bank_name, image_url, 1)
    create_bank(client, bank_name_2)
    add_hash_to_bank(client, bank_name, image_url_2, 2)
    post_response = client.get(
        f"/m/raw_lookup?signal_type=pdq&signal={IMAGE_URL_TO_PDQ[image_url]}"
    )
    assert post_response.status_code == 200
    assert post_response.json() == {"matches": [1]}
    post_response = client.get(
        f"/m/raw_lookup?signal_type=pdq&signal={IMAGE_URL_TO_PDQ[image_url_2]}"
    )
    assert post_response.status_code == 200
    assert post_response.json() == {"matches": [2]}


def test_bank_get_content_with_signals(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_GET_SIGS"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json().get("id")
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert get_response.json().get("id") == content_id
    assert "signals" not in get_response.json()
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}?include_signals=true")
    assert get_response.status_code == 200, get_response.text
    assert get_response.json().get("id") == content_id
    if "signals" in get_response.json():
        assert isinstance(get_response.json()["signals"], dict)
        assert len(get_response.json()["signals"]) > 0
    # Vigil: the signals are there, and only HMA's type for a photo
    assert get_response.json()["signals"] == {"pdq": IMAGE_URL_TO_PDQ[image_url]}


def test_bank_get_content_returns_stored_metadata(client: httpx.Client, image_server: str) -> None:
    """(HMA fetches a github.com image here; the local one stands in for it.)"""
    bank_name = "TEST_BANK_METADATA"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    metadata = {
        "content_id": "ext-id-123",
        "content_uri": "https://example.com/item/123",
        "json": {"source": "test", "nested": {"key": "value"}},
    }
    add_response = client.post(
        f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo",
        json={"metadata": metadata},
    )
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    get_data = get_response.json()
    assert "metadata" in get_data
    assert get_data["metadata"]["content_id"] == metadata["content_id"]
    assert get_data["metadata"]["content_uri"] == metadata["content_uri"]
    assert get_data["metadata"]["json"] == metadata["json"]


def test_bank_get_content_include_metadata_false(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NO_METADATA"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(
        f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo",
        json={"metadata": {"content_id": "id1", "content_uri": "https://example.com/1"}},
    )
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}?include_metadata=false")
    assert get_response.status_code == 200, get_response.text
    assert "metadata" not in get_response.json()


def test_bank_add_content_with_note(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NOTE"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(
        f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo",
        json={"note": "Reported by user X"},
    )
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert get_response.json()["note"] == "Reported by user X"


def test_bank_add_content_without_note_omitted(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NO_NOTE"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert "note" not in get_response.json()


def test_bank_update_content_note(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NOTE_UPDATE"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    path = f"/c/bank/{bank_name}/content/{content_id}"
    assert client.put(path, json={"note": "Initial note"}).status_code == 200
    assert client.get(path).json()["note"] == "Initial note"
    assert client.put(path, json={"note": "Updated note"}).status_code == 200
    assert client.get(path).json()["note"] == "Updated note"
    assert client.put(path, json={"note": ""}).status_code == 200
    assert "note" not in client.get(path).json()


def test_bank_add_note_too_long(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NOTE_LONG"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(
        f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo", json={"note": "x" * 256}
    )
    assert add_response.status_code == 400


def test_bank_add_hash_with_note(client: httpx.Client) -> None:
    bank_name = "TEST_BANK_HASH_NOTE"
    create_bank(client, bank_name)
    add_response = client.post(
        f"/c/bank/{bank_name}/signal", json={"pdq": "0" * 64, "note": "Hash from campaign ABC"}
    )
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert get_response.json()["note"] == "Hash from campaign ABC"


def test_bank_get_content_without_metadata_omitted(client: httpx.Client, image_server: str) -> None:
    bank_name = "TEST_BANK_NO_META"
    create_bank(client, bank_name)
    image_url = f"{image_server}/image1.jpg"
    add_response = client.post(f"/c/bank/{bank_name}/content?url={image_url}&content_type=photo")
    assert add_response.status_code == 200, add_response.text
    content_id = add_response.json()["id"]
    get_response = client.get(f"/c/bank/{bank_name}/content/{content_id}")
    assert get_response.status_code == 200, get_response.text
    assert "metadata" not in get_response.json()


# -- test_e2e_workflow.py --------------------------------------------------------------


def test_add_hashes_and_find_match(client: httpx.Client) -> None:
    bank_name = "TEST_BANK"
    create_bank(client, bank_name)
    hashes = PdqSignal.get_examples()
    for pdq in hashes:
        resp = client.post(f"/c/bank/{bank_name}/signal", json={"pdq": pdq})
        assert resp.status_code == 200
    resp = client.get("/m/index/status?signal_type=pdq")
    assert resp.status_code == 200
    all_build_info = resp.json()
    assert "pdq" in all_build_info
    build_info = all_build_info["pdq"]
    assert build_info["present"] is True
    assert build_info["size"] == len(hashes)
    resp = client.get(f"/m/lookup?signal_type=pdq&signal={hashes[-1]}")
    assert resp.status_code == 200
    assert resp.json() == {"TEST_BANK": [{"bank_content_id": 16, "distance": "0"}]}
    resp = client.get("/m/lookup?signal_type=pdq&signal={}".format("5" * 64))
    assert resp.status_code == 200
    assert resp.json() == {}


# -- test_match_api.py -----------------------------------------------------------------


@pytest.fixture
def client_with_sample_data(client: httpx.Client) -> httpx.Client:
    """HMA loads its SAMPLE exchange (the signal types' examples); added over HTTP here."""
    create_bank(client, "SAMPLE")
    for st in (PdqSignal, VideoMD5Signal):
        for example in st.get_examples():
            resp = client.post("/c/bank/SAMPLE/signal", json={st.get_name(): example})
            assert resp.status_code == 200, resp.text
    assert client.get("/status").status_code == 200
    return client


def test_raw_lookups(client_with_sample_data: httpx.Client) -> None:
    client = client_with_sample_data
    configs = {c["name"]: c for c in client.get("/c/signal_type").json()}
    assert set(configs) == {PdqSignal.get_name(), VideoMD5Signal.get_name()}
    for st in (PdqSignal, VideoMD5Signal):
        sig_name = st.get_name()
        assert configs[sig_name]["enabled_ratio"] > 0
        query: dict[str, t.Any] = {"signal": st.get_examples()[0], "signal_type": sig_name}
        resp = client.get("/m/raw_lookup", params=query)
        assert resp.status_code == 200
        match_count = len(resp.json()["matches"])
        assert match_count >= 1
        query["include_distance"] = True
        resp = client.get("/m/raw_lookup", params=query)
        assert resp.status_code == 200
        with_dist_matches = resp.json()["matches"]
        assert len(with_dist_matches) == match_count
        for match in with_dist_matches:
            assert "bank_content_id" in match
            assert "distance" in match


def test_lookups(client_with_sample_data: httpx.Client) -> None:
    client = client_with_sample_data
    for st in (PdqSignal, VideoMD5Signal):
        query = {"signal": st.get_examples()[0], "signal_type": st.get_name()}
        resp = client.get("/m/lookup", params=query)
        assert resp.status_code == 200
        resp_json = resp.json()
        assert len(resp_json) == 1
        assert "SAMPLE" in resp_json
        assert len(resp_json["SAMPLE"]) > 0
        for match in resp_json["SAMPLE"]:
            assert "bank_content_id" in match
            assert "distance" in match


@pytest.fixture
def client_with_multi_bank_data(client: httpx.Client) -> httpx.Client:
    """HMA writes through its storage object; the same three banks over HTTP here."""
    for bank in ("BANK_A", "BANK_B", "BANK_C"):
        create_bank(client, bank)
    pdq_signal = PdqSignal.get_examples()[0]
    for bank in ("BANK_A", "BANK_B", "BANK_C"):
        assert client.post(f"/c/bank/{bank}/signal", json={"pdq": pdq_signal}).status_code == 200
    assert client.get("/status").status_code == 200
    return client


def test_raw_lookup_with_bank_filter(client_with_multi_bank_data: httpx.Client) -> None:
    client = client_with_multi_bank_data
    query: dict[str, t.Any] = {"signal": PdqSignal.get_examples()[0], "signal_type": "pdq"}
    resp = client.get("/m/raw_lookup", params=query)
    assert resp.status_code == 200
    assert len(resp.json()["matches"]) == 3
    for banks, expected in (("BANK_A", 1), ("BANK_A,BANK_B", 2), ("NON_EXISTENT_BANK", 0)):
        query["banks"] = banks
        resp = client.get("/m/raw_lookup", params=query)
        assert resp.status_code == 200
        assert len(resp.json()["matches"]) == expected


def test_raw_lookup_with_distance_and_bank_filter(
    client_with_multi_bank_data: httpx.Client,
) -> None:
    client = client_with_multi_bank_data
    query: dict[str, t.Any] = {
        "signal": PdqSignal.get_examples()[0],
        "signal_type": "pdq",
        "include_distance": True,
        "banks": "BANK_A,BANK_B",
    }
    resp = client.get("/m/raw_lookup", params=query)
    assert resp.status_code == 200
    matches = resp.json()["matches"]
    assert len(matches) == 2
    for match in matches:
        assert "bank_content_id" in match
        assert "distance" in match


def test_lookup_with_bank_filter(client_with_multi_bank_data: httpx.Client) -> None:
    client = client_with_multi_bank_data
    query: dict[str, t.Any] = {"signal": PdqSignal.get_examples()[0], "signal_type": "pdq"}
    resp = client.get("/m/lookup", params=query)
    assert resp.status_code == 200
    assert set(resp.json()) == {"BANK_A", "BANK_B", "BANK_C"}
    query["banks"] = "BANK_A"
    resp = client.get("/m/lookup", params=query)
    assert resp.status_code == 200
    assert list(resp.json()) == ["BANK_A"] and len(resp.json()["BANK_A"]) > 0
    query["banks"] = "BANK_A,BANK_C"
    resp = client.get("/m/lookup", params=query)
    assert resp.status_code == 200
    assert set(resp.json()) == {"BANK_A", "BANK_C"}
    query["banks"] = "NON_EXISTENT_BANK"
    resp = client.get("/m/lookup", params=query)
    assert resp.status_code == 200
    assert len(resp.json()) == 0


# -- test_hashing.py (the URL checks, against Vigil's own) ------------------------------


def test_content_length_validation(client: httpx.Client, image_server: str) -> None:
    """test_hashing.py::test_content_length_validation, with a real oversized file."""
    response = client.get(f"/h/hash?url={image_server}/big.jpg")
    assert response.status_code == 413
    assert "Content too large" in response.text
    response = client.get(f"/h/hash?url={image_server}/image1.jpg")
    assert response.status_code != 413
    assert response.json() == {"pdq": IMAGE_URL_TO_PDQ[f"{image_server}/image1.jpg"]}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_urls_hma_refuses_are_refused(client: httpx.Client) -> None:
    """test_hashing.py's invalid_schemes, missing_scheme_or_netloc and malformed_urls."""
    refused = [
        "ftp://example.com",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ws://example.com",
        "wss://example.com",
        "example.com",
        "//example.com",
        "http://",
        "https://",
        "",
        "not a url",
        "http:///example.com",
        "http://example.com:",
        "http://example.com:abc",
    ]
    for url in refused:
        response = client.get("/h/hash", params={"url": url})
        assert response.status_code == 400, (url, response.text)
    assert client.get("/h/hash").status_code == 422  # url is required, as HMA's schema says
