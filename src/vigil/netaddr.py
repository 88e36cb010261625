"""Where Vigil may connect: resolving a host once, and which addresses count as public.

The matching service fetches URLs it is given (``vigil.web.fetch``) and the crawler
fetches the web (``vigil.crawl.route``); both must refuse to be turned against the
machine's own network (SSRF). The rules live here once: a host is resolved once and
the connection goes to one of those addresses, and an address is public when
``ipaddress`` says it is global and it is not multicast (an IPv4 address mapped into
IPv6 is judged as the IPv4 address it carries). Each caller adds its own allow-list.
"""

from __future__ import annotations

import ipaddress
import socket

from vigil.errors import VigilError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ResolveError(VigilError):
    """A host name has no address, or could not be resolved."""


def unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 one; any other address as it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is on the public internet (not loopback, private, link-local, ...)."""
    address = unmapped(address)
    return address.is_global and not address.is_multicast


def literal(host: str) -> IPAddress | None:
    """The address a host is written as (``10.0.0.1``, ``[::1]``), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, once, in the resolver's order; ResolveError if none."""
    written = literal(host)
    if written is not None:
        return [written]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host!r} ({exc})") from None
    out: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in out:
            out.append(address)
    if not out:
        raise ResolveError(f"{host!r} has no address")
    return out
