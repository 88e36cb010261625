"""Client input never causes a 5xx: every route, every method, junk parameters and bodies."""

from __future__ import annotations

import re

import pytest

from tests.web.media import jpeg
from tests.web.server import Server

JUNK_PATH = ["x", "-1", "99999999999999999999999", "%00", "A" * 300]
JUNK_BODIES: list[dict] = [
    {"content": b"\xff\xfe not json"},
    {"json": {"name": 5, "signals": [1], "queries": "x", "pdq": {"a": 1}, "until": "soon"}},
    {"json": [None, 1.5, "x"]},
    {"files": {"photo": ("a.jpg", b"\x89PNG\r\n\x1a\n truncated")}},
    {"files": {"file": ("a.jpg", jpeg()[:300]), "video": ("b.mp4", b"\0\0\0 ftypisom")}},
    {
        "content": b'--b\r\nContent-Disposition: form-data; name="photo"; filename="x"\r\n',
        "headers": {"content-type": "multipart/form-data; boundary=b"},
    },
]
JUNK_QUERY = {
    "signal_type": "pdq",
    "signal": "g" * 64,
    "hashsets": "\x00",
    "banks": ",,,",
    "include_distance": "maybe",
    "seed": "x",
    "limit": "-5",
    "types": "nope",
    "dihedral": "perhaps",
}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_junk_never_gets_a_5xx(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["admin"]) as c:
        c.post("/c/banks", json={"name": "JUNK"})
        paths = [p for p in c.get("/openapi.json").json()["paths"] if p != "/metrics"]
        seen = 0
        for template in paths:
            for junk in JUNK_PATH[:2] if "{" in template else [""]:
                path = re.sub(r"\{[^}]+\}", junk, template)
                for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    bodies = JUNK_BODIES if method in ("POST", "PUT", "PATCH") else [{}]
                    for body in bodies:
                        r = c.request(method, path, params=JUNK_QUERY, **body)
                        seen += 1
                        assert r.status_code < 500, (method, path, body, r.status_code, r.text)
        for junk in JUNK_PATH:
            for path in (f"/v1/hashsets/{junk}", f"/c/bank/{junk}/content/{junk}"):
                assert c.get(path).status_code < 500
        assert seen > 300
