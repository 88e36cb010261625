"""Fetching media from a URL a client names, without letting the URL reach inside.

HMA's routes take ``?url=`` (``GET /h/hash``, ``GET /m/lookup``, ``POST
/c/bank/<b>/content``), and platforms pass CDN URLs. A service that fetches what a
client names is a server-side request forgery risk: the URL may name the metadata
service of the cloud it runs in, a database on the private network, or a host name
that resolves to a public address when checked and a private one when connected
(DNS rebinding). So, for each hop:

1. only ``http`` and ``https``, with a host, a valid port, no user info;
2. the host name is resolved once, every address it resolves to must be public
   (``ipaddress``'s ``is_global``, not multicast) unless the allow-list
   (``VIGIL_SERVE_FETCH_ALLOW``) names the host, the address or a network holding it;
3. the connection goes to that resolved address (the URL's host stays in the
   ``Host`` header and in TLS's server name, so certificates are still checked
   against it), never through an environment proxy;
4. a redirect is followed only up to ``max_redirects`` times, each target checked
   from step 1 again;
5. the body is read into memory up to ``max_bytes`` (a larger ``Content-Length`` is
   refused before reading) and within ``timeout`` seconds for the whole fetch.

Nothing fetched is written to disk or stored: the caller hashes the bytes and drops
them. What the media is gets decided by sniffing the bytes, not the server's
``Content-Type``.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from vigil import netaddr
from vigil.netaddr import IPAddress, is_public, unmapped
from vigil.web.errors import ApiError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may reach and how much it may take."""

    max_bytes: int = 32 << 20
    timeout: float = 10.0
    max_redirects: int = 3
    #: Host names (lower case) that may resolve to non-public addresses.
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    #: Addresses and networks that may be reached although not public.
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def parse_allow(cls, text: str | None, **limits: object) -> FetchPolicy:
        """A policy whose allow-list is ``text``: host names, addresses, CIDR networks."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in (text or "").split(","):
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks), **limits)  # type: ignore[arg-type]

    def permits(self, host: str, address: IPAddress) -> bool:
        """Whether ``address`` (which ``host`` resolved to) may be connected to."""
        address = unmapped(address)
        if host in self.allowed_hosts or any(address in n for n in self.allowed_networks):
            return True
        return is_public(address)


@dataclass(frozen=True)
class Fetched:
    """A fetched body, in memory, and where it finally came from."""

    data: bytes
    url: str
    content_type: str | None


def _refuse(message: str, status: int = 400) -> ApiError:
    return ApiError(status, "bad_url" if status == 400 else "too_large", message)


def check_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an acceptable URL; 400 naming what is wrong otherwise."""
    if not isinstance(url, str) or not url or len(url) > 8192:
        raise _refuse("Invalid or unsafe URL provided: not a URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("Invalid or unsafe URL provided: malformed host or port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse("Invalid or unsafe URL provided: only http and https URLs are fetched")
    host = (parts.hostname or "").rstrip(".")
    if not host or any(c.isspace() for c in url):
        raise _refuse("Invalid or unsafe URL provided: no host")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Invalid or unsafe URL provided: user names and passwords are not sent")
    if parts.netloc.endswith(":"):
        raise _refuse("Invalid or unsafe URL provided: empty port")
    return scheme, host.lower(), port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (once: the fetch connects to one of these)."""
    try:
        return netaddr.resolve(host, port)
    except netaddr.ResolveError as exc:
        raise _refuse(f"Failed to fetch URL: {exc}") from None


def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` under ``policy`` (blocking; run it in a worker thread)."""
    deadline = time.monotonic() + policy.timeout
    with httpx.Client(trust_env=False, follow_redirects=False, verify=True) as client:
        for _hop in range(policy.max_redirects + 1):
            scheme, host, port = check_url(url)
            addresses = resolve(host, port)
            blocked = [a for a in addresses if not policy.permits(host, a)]
            if blocked:
                raise _refuse(
                    f"Invalid or unsafe URL provided: {host} resolves to {blocked[0]}, "
                    "which is not a public address (an admin may allow it with "
                    "VIGIL_SERVE_FETCH_ALLOW)"
                )
            response_url, body, ctype, location = _get(
                client, url, scheme, host, port, addresses[0], policy, deadline
            )
            if location is None:
                return Fetched(body, response_url, ctype)
            url = urljoin(url, location)
    raise _refuse(f"Failed to fetch URL: more than {policy.max_redirects} redirects")


def _get(
    client: httpx.Client,
    url: str,
    scheme: str,
    host: str,
    port: int,
    address: IPAddress,
    policy: FetchPolicy,
    deadline: float,
) -> tuple[str, bytes, str | None, str | None]:
    """One hop: ``(url, body, content type, redirect location or None)``."""
    parts = urlsplit(url)
    ip = f"[{address}]" if address.version == 6 else str(address)
    target = httpx.URL(url).copy_with(host=ip.strip("[]"), port=port)
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _refuse("Failed to fetch URL: timed out")
    try:
        request = client.build_request(
            "GET",
            target,
            headers={"Host": host_header, "Accept": "image/*, video/*, */*;q=0.5"},
            extensions={"sni_hostname": host, "timeout": _timeouts(remaining)},
        )
        response = client.send(request, stream=True)
        try:
            if response.status_code in _REDIRECTS and response.headers.get("location"):
                return url, b"", None, response.headers["location"]
            if response.status_code >= 400:
                raise _refuse(
                    f"Failed to fetch URL: HTTP {response.status_code} from {parts.netloc}"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > policy.max_bytes:
                raise _refuse("Content too large", 413)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise _refuse("Content too large", 413)
                if time.monotonic() > deadline:
                    raise _refuse("Failed to fetch URL: timed out")
            return url, bytes(body), response.headers.get("content-type"), None
        finally:
            response.close()
    except httpx.TimeoutException:
        raise _refuse("Failed to fetch URL: timed out") from None
    except httpx.HTTPError as exc:
        raise _refuse(f"Failed to fetch URL: {type(exc).__name__}: {exc}"[:300]) from None


def _timeouts(remaining: float) -> dict[str, float]:
    return {"connect": remaining, "read": remaining, "write": remaining, "pool": remaining}
