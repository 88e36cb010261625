"""How the crawler reaches a host: directly, to checked addresses, or through a SOCKS proxy.

The crawl is pointed at the open web, where a page can link anything, so every hop is
checked, as the service's URL fetching does (``vigil.web.fetch``; the crawler has its
own copy of the check because the web layer comes after this stage):

* only ``http`` and ``https`` URLs with a host and no user info;
* directly: the host name is resolved once, every address must be public unless
  ``allow_private`` (loopback, private, link-local, multicast refused), and the
  connection goes to that address (the name stays in ``Host`` and TLS's server name);
* ``.onion`` names only through a proxy; a direct connection is refused, it could
  only leak the name to the local resolver;
* through a proxy (``socks5h://``: names are resolved by the proxy, as Tor needs) no
  local lookup happens at all; an address literal in a URL is still checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from vigil import netaddr
from vigil.crawl import CrawlUsageError, UnsafeUrlError
from vigil.crawl.urls import is_onion
from vigil.netaddr import IPAddress, is_public, unmapped


@dataclass(frozen=True)
class Target:
    """Where one URL goes: its host and port, and the addresses to connect to (direct only)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]  # empty when the proxy resolves


def parse_proxy(proxy: str | None) -> str | None:
    """The proxy URL if it is one the crawler can use (``socks5h://host:port``)."""
    if not proxy:
        return None
    parts = urlsplit(proxy)
    if parts.scheme.lower() == "socks5":
        raise CrawlUsageError(
            f"proxy {proxy}: use socks5h:// so that names are resolved by the proxy "
            "(socks5:// would look them up here, leaking them and failing for .onion)"
        )
    if parts.scheme.lower() != "socks5h" or not parts.hostname:
        raise CrawlUsageError(f"proxy {proxy}: expected socks5h://HOST:PORT (a Tor SOCKS port)")
    try:
        port = parts.port
    except ValueError:
        raise CrawlUsageError(f"proxy {proxy}: bad port") from None
    if port is None:
        raise CrawlUsageError(f"proxy {proxy}: name the port (Tor's is usually 9050)")
    return f"socks5h://{parts.netloc}"


@dataclass(frozen=True)
class Route:
    """Direct connections or one SOCKS proxy, and whether private addresses may be reached."""

    proxy: str | None = None
    allow_private: bool = False

    def permits(self, address: IPAddress) -> bool:
        """Whether a connection to ``address`` is allowed."""
        address = unmapped(address)
        if self.allow_private:
            return not address.is_multicast and not address.is_unspecified
        return is_public(address)

    def target(self, url: str) -> Target:
        """Check ``url`` for this route; UnsafeUrlError names what is refused."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise UnsafeUrlError(f"{url}: only http and https are fetched")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host or parts.username is not None or parts.password is not None:
            raise UnsafeUrlError(f"{url}: no host, or user info in the URL")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise UnsafeUrlError(f"{url}: bad port") from None
        literal = netaddr.literal(host)
        if literal is not None:
            if not self.permits(literal):
                raise UnsafeUrlError(
                    f"{url}: {literal} is not a public address (--allow-private to reach it)"
                )
            return Target(scheme, host, port, (literal,))
        if self.proxy:
            return Target(scheme, host, port, ())
        if is_onion(host):
            raise UnsafeUrlError(
                f"{url}: .onion sites are reached only through Tor: give "
                "--proxy socks5h://127.0.0.1:9050 (no direct connection is made)"
            )
        addresses = resolve(host, port)
        blocked = [a for a in addresses if not self.permits(a)]
        if blocked:
            raise UnsafeUrlError(
                f"{url}: {host} resolves to {blocked[0]}, which is not a public address "
                "(--allow-private to reach it)"
            )
        return Target(scheme, host, port, tuple(addresses))


class ResolveError(UnsafeUrlError):
    """A host name has no address (it may be gone: recheck counts it as such)."""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (once: the connection goes to one of these)."""
    try:
        return netaddr.resolve(host, port)
    except netaddr.ResolveError as exc:
        raise ResolveError(str(exc)) from None
