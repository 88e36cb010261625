"""One GET of one URL, under the crawl's route and limits, into memory.

httpx does the HTTP (keep-alive pools, TLS, SOCKS through ``socksio``); this module
adds what a crawler of hostile sites needs around it: every hop checked by the route
(``route.py``) and by the caller's scope before it is requested, redirects followed
by hand (at most ``max_redirects``), a limit on the bytes of every response (a
larger ``Content-Length`` refused before reading, a body cut off at the limit) and on
its time (one deadline for the whole response, redirects included), environment
proxies ignored (the route is the only way out), no cookies kept, no JavaScript, no
forms. Nothing is written to disk: the body is returned in memory, the caller hashes
it and drops it. Problems are returned as the response's ``error`` with whether a
retry might help, never raised: one URL never ends a crawl.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from vigil import __version__
from vigil.crawl import UnsafeUrlError
from vigil.crawl.route import Route, Target
from vigil.crawl.urls import normalise

DEFAULT_USER_AGENT = f"Vigil/{__version__} (hash-matching crawler)"
#: Headers recorded with every fetch (lower case); the rest are dropped.
KEPT_HEADERS = ("server", "content-type", "content-length", "last-modified", "etag", "location")
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


@dataclass
class Response:
    """What one fetch gave: status, kept headers, body (in memory), or an error."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ip: str | None = None
    error: str | None = None
    retryable: bool = False
    redirects: list[str] = field(default_factory=list)
    fetched_at: float = field(default_factory=time.time)


class Fetcher:
    """GETs through one route with one connection pool; close it when done."""

    def __init__(
        self,
        route: Route,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 30.0,
        max_redirects: int = 5,
    ) -> None:
        """Fetch through ``route``; ``timeout``: seconds for one response, redirects included."""
        self.route = route
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.client = httpx.Client(
            proxy=route.proxy,
            trust_env=False,
            follow_redirects=False,
            verify=True,
            http2=False,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    def close(self) -> None:
        """Close the connections."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, url: str, max_bytes: int, follow: Callable[[str], bool] | None = None
    ) -> Response:
        """GET ``url``; redirects followed while ``follow(next_url)`` agrees (and the route)."""
        deadline = time.monotonic() + self.timeout
        response = Response(url=url, final_url=url)
        current = url
        for _hop in range(self.max_redirects + 1):
            try:
                target = self.route.target(current)
            except UnsafeUrlError as exc:
                response.error = str(exc)
                return response
            location = self._hop(response, current, target, max_bytes, deadline)
            if location is None or response.error:
                return response
            following = normalise(urljoin(current, location))
            if following is None:
                response.error = f"redirect to a URL that is not http(s): {location[:200]}"
                return response
            if follow is not None and not follow(following):
                response.error = f"redirect out of the crawl's scope, to {following}"
                return response
            response.redirects.append(following)
            response.final_url = current = following
        response.error = f"more than {self.max_redirects} redirects"
        return response

    def _hop(
        self, response: Response, url: str, target: Target, max_bytes: int, deadline: float
    ) -> str | None:
        """One request; fills ``response``; returns a redirect's Location, else None."""
        headers = {"User-Agent": self.user_agent, "Accept": "*/*"}
        extensions: dict[str, object] = {}
        request_url = httpx.URL(url)
        if target.addresses:  # direct: connect to the checked address, name kept in Host/SNI
            address = target.addresses[0]
            request_url = request_url.copy_with(host=str(address))
            default = 443 if target.scheme == "https" else 80
            shown = f"[{target.host}]" if ":" in target.host else target.host
            headers["Host"] = shown if target.port == default else f"{shown}:{target.port}"
            extensions["sni_hostname"] = target.host
            response.ip = str(address)
        else:
            response.ip = None  # resolved by the proxy
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            response.error, response.retryable = f"timed out after {self.timeout:g} s", True
            return None
        extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"), remaining)
        try:
            request = self.client.build_request(
                "GET", request_url, headers=headers, extensions=extensions
            )
            reply = self.client.send(request, stream=True)
            try:
                return self._read(response, reply, max_bytes, deadline)
            finally:
                reply.close()
        except httpx.TimeoutException:
            response.error, response.retryable = f"timed out after {self.timeout:g} s", True
        except httpx.HTTPError as exc:
            response.error = f"{type(exc).__name__}: {exc}"[:300]
            response.retryable = True
        except OSError as exc:  # a proxy that is not there, a socket error outside httpx
            response.error = f"{type(exc).__name__}: {exc}"[:300]
            response.retryable = True
        return None

    def _read(
        self, response: Response, reply: httpx.Response, max_bytes: int, deadline: float
    ) -> str | None:
        response.status = reply.status_code
        response.headers = {k: reply.headers[k] for k in KEPT_HEADERS if k in reply.headers}
        response.fetched_at = time.time()
        if reply.status_code in _REDIRECTS and reply.headers.get("location"):
            return reply.headers["location"]
        if reply.status_code == 429 or reply.status_code >= 500:
            response.error = f"HTTP {reply.status_code}"
            response.retryable = True
            return None
        if reply.status_code >= 400:
            return None  # recorded with its status: gone, forbidden
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            response.error = f"larger than the limit ({int(declared):,} > {max_bytes:,} bytes)"
            return None
        body = bytearray()
        for chunk in reply.iter_bytes(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                response.error = f"larger than the limit (> {max_bytes:,} bytes)"
                return None
            if time.monotonic() > deadline:
                response.error, response.retryable = f"timed out after {self.timeout:g} s", True
                return None
        response.body = bytes(body)
        return None
