"""Malformed requests get a 4xx on every route: long boundaries, deep JSON, big bodies, fuzz.

The fuzz test reads the service's own OpenAPI documents (Vigil's and the HMA one) and
sends hypothesis-generated requests to every route and method they list: parameters
of the declared names with arbitrary text, JSON bodies of arbitrary shape, multipart
bodies with arbitrary boundaries. Nothing may answer 5xx.
"""

from __future__ import annotations

import re
import typing as t

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.server import Server

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def routes(c: httpx.Client) -> list[tuple[str, str, list[str]]]:
    """(method, path template, query parameter names) of every documented operation."""
    out = []
    for doc in ("/openapi.json", "/openapi/openapi.json"):
        for path, ops in c.get(doc).json()["paths"].items():
            for method in METHODS:
                op = ops.get(method.lower())
                names = [p["name"] for p in (op or {}).get("parameters", []) if p["in"] == "query"]
                out.append((method, path, names))
    extra = ["url", "signal", "signal_type", "banks", "types", "content_type", "include_distance"]
    return [(m, p, sorted(set(n) | set(extra))) for m, p, n in out if p != "/metrics"]


def test_long_boundary_deep_json_and_big_json_are_4xx(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["admin"]) as c:
        c.post("/c/banks", json={"name": "HARD"})
        boundary = "b" * 300
        body = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="photo"; filename="x"\r\n\r\n'
            f"x\r\n--{boundary}--\r\n"
        )
        headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
        for path in ("/h/hash", "/m/lookup", "/v1/hash", "/v1/match", "/c/bank/HARD/content"):
            r = c.post(path, content=body.encode(), headers=headers)
            assert r.status_code == 400, (path, r.text)
            assert "boundary" in r.json()["message"]
        deep = b"[" * 100_000 + b"]" * 100_000
        for method, template, _ in routes(c):
            if method not in ("POST", "PUT", "PATCH"):
                continue
            path = re.sub(r"\{[^}]+\}", "HARD", template)
            r = c.request(method, path, content=deep, headers={"content-type": "application/json"})
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
        big = b'{"queries": [' + b'{"signal_type": "md5", "signal": "00"},' * 120_000 + b"{}]}"
        assert len(big) > 4 << 20
        r = c.post("/v1/match/batch", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def test_fuzzed_requests_never_get_a_5xx(server: Server, keys: dict[str, str]) -> None:
    with server.client(keys["admin"]) as c:
        c.post("/c/banks", json={"name": "FUZZ"})
        c.post("/c/bank/FUZZ/signal", json={"pdq": "0" * 64})
        operations = routes(c)
        assert len(operations) > 60

        @settings(
            max_examples=300,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(
            op=st.sampled_from(operations),
            path_value=st.sampled_from(
                ["FUZZ", "1", "0", "x", "-1", "99999999999999999999", "%00"]
            ),
            params=st.dictionaries(st.text(max_size=12), st.text(max_size=70), max_size=3),
            named=st.data(),
            body=st.one_of(
                st.none(),
                JSONISH.map(lambda v: ("json", v)),
                st.binary(max_size=200).map(lambda b: ("raw", b)),
                st.tuples(st.text(min_size=1, max_size=300), st.binary(max_size=100)).map(
                    lambda tb: ("multipart", tb)
                ),
            ),
        )
        def one(
            op: tuple[str, str, list[str]],
            path_value: str,
            params: dict[str, str],
            named: st.DataObject,
            body: tuple[str, t.Any] | None,
        ) -> None:
            method, template, names = op
            path = re.sub(r"\{[^}]+\}", path_value, template)
            chosen = named.draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
            for name in chosen:
                params[name] = named.draw(
                    st.sampled_from(
                        ["pdq", "md5", "video_md5", "true", "maybe", "0" * 64, "", "FUZZ"]
                    )
                    | st.text(max_size=40)
                )
            kwargs: dict[str, t.Any] = {"params": params}
            if body is not None and body[0] == "json":
                kwargs["json"] = body[1]
            elif body is not None and body[0] == "raw":
                kwargs["content"] = body[1]
            elif body is not None:
                boundary, data = body[1]
                kwargs["content"] = b"--" + boundary.encode("utf-8", "replace") + b"\r\n" + data
                kwargs["headers"] = {
                    "content-type": "multipart/form-data; boundary=" + boundary.replace("\n", " ")
                }
            try:
                r = c.request(method, path, **kwargs)
            except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
                return  # the client refused to send it
            assert r.status_code < 500, (method, path, kwargs, r.status_code, r.text[:300])

        one()
