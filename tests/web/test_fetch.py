"""URL ingestion: only public http(s) addresses unless allowed, redirects re-checked, caps."""

from __future__ import annotations

import http.server
import ipaddress
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.web.media import jpeg
from vigil.web.errors import ApiError
from vigil.web.fetch import FetchPolicy, check_url, fetch

PHOTO = jpeg(seed=3)


class Handler(http.server.BaseHTTPRequestHandler):
    """/photo, /text, /big (declares 10 MiB), /chunked-big, /slow, /to/<path>, /loop."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/photo":
            self._send(200, PHOTO, "application/octet-stream")
        elif self.path == "/text":
            self._send(200, b"hello, not media", "image/jpeg")
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10 << 20))
            self.end_headers()
        elif self.path == "/chunked-big":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"\0" * 65536
            try:
                for _ in range(40):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/to") :].replace("%3A", ":"))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/away"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"no", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


LOCAL = FetchPolicy.parse_allow("127.0.0.1", max_bytes=1 << 20, timeout=2.0)


def refused(url: str, policy: FetchPolicy, status: int = 400) -> str:
    with pytest.raises(ApiError) as caught:
        fetch(url, policy)
    assert caught.value.status == status, caught.value.message
    return caught.value.message


def test_loopback_is_refused_unless_allowed(origin: str) -> None:
    assert "not a public address" in refused(f"{origin}/photo", FetchPolicy())
    port = origin.rsplit(":", 1)[1]
    for alias in (f"http://localhost:{port}", f"http://0x7f000001:{port}", f"http://[::1]:{port}"):
        assert "not a public address" in refused(f"{alias}/photo", FetchPolicy())
    got = fetch(f"{origin}/photo", LOCAL)
    assert got.data == PHOTO
    by_network = FetchPolicy.parse_allow("127.0.0.0/8")
    assert fetch(f"{origin}/photo", by_network).data == PHOTO
    by_name = FetchPolicy.parse_allow("localhost")
    assert fetch(f"http://localhost:{port}/photo", by_name).data == PHOTO
    assert "not a public address" in refused(f"{origin}/photo", by_name)  # the name, not the IP


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "[fd00:ec2::254]",  # AWS metadata over IPv6
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert "not a public address" in refused(f"http://{address}/x", FetchPolicy())


def test_redirects_are_checked_hop_by_hop_and_bounded(origin: str) -> None:
    assert fetch(f"{origin}/to/photo", LOCAL).data == PHOTO
    assert "169.254.169.254" in refused(f"{origin}/away", LOCAL)
    assert "redirects" in refused(f"{origin}/loop", LOCAL)
    none = FetchPolicy.parse_allow("127.0.0.1", max_redirects=0)
    assert "redirects" in refused(f"{origin}/to/photo", none)


def test_size_and_time_caps(origin: str) -> None:
    assert refused(f"{origin}/big", LOCAL, 413) == "Content too large"
    assert refused(f"{origin}/chunked-big", LOCAL, 413) == "Content too large"
    quick = FetchPolicy.parse_allow("127.0.0.1", timeout=0.5)
    assert "timed out" in refused(f"{origin}/slow", quick)
    assert "HTTP 404" in refused(f"{origin}/nothing", LOCAL)


@given(st.text(max_size=40))
def test_check_url_accepts_only_http_and_https(text: str) -> None:
    for url in (text, f"ftp://{text}", f"file:///{text}", f"gopher://{text}"):
        try:
            scheme, host, port = check_url(url)
        except ApiError as exc:
            assert exc.status == 400
            continue
        assert scheme in ("http", "https") and host and 0 <= port < 65536


@given(st.ip_addresses())
def test_only_global_unicast_addresses_are_permitted(address: ipaddress._BaseAddress) -> None:
    allowed = FetchPolicy().permits("h", address)  # type: ignore[arg-type]
    mapped = getattr(address, "ipv4_mapped", None) or address
    assert allowed == (mapped.is_global and not mapped.is_multicast)
    if address.is_loopback or address.is_private or address.is_link_local:
        assert not allowed
