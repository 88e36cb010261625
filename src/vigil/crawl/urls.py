"""URLs as the crawler keeps them: normalised once, so one resource is one frontier row.

Normalising: scheme and host in lower case, the host in its IDNA (ASCII) form, the
default port dropped, the path's dot segments resolved and an empty path made ``/``,
the fragment dropped (it never reaches the server). The query is kept as it is: its
order can matter to the server. Anything but http(s) is not a crawl URL.

``Scope`` says which pages are followed: the seeds' hosts (``--same-host``, the
default) or the named domains and their sub-domains (``--allow-domain``). Media shown
on an in-scope page are fetched wherever they are hosted (a picture on a CDN is
published there, and the CDN is whom a notice goes to).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str, base: str | None = None) -> str | None:
    """The canonical form of ``url`` (relative to ``base``), or None if it is not http(s)."""
    url = url.strip()
    if not url:
        return None
    try:
        if base is not None:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = (parts.hostname or "").rstrip(".")
        if not host or parts.username is not None or parts.password is not None:
            return None
        port = parts.port
    except ValueError:
        return None
    if ":" in host:
        netloc = f"[{host.lower()}]"
    else:
        try:
            netloc = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = remove_dot_segments(parts.path or "/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def remove_dot_segments(path: str) -> str:
    """RFC 3986's ``remove_dot_segments`` for an absolute path (empty segments are kept)."""
    segments = path.split("/")
    out: list[str] = [""]
    for index, segment in enumerate(segments[1:] if path.startswith("/") else segments, 1):
        last = index == len(segments) - (1 if path.startswith("/") else 0)
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out) or "/"


def host_of(url: str) -> str:
    """The host of a normalised URL (lower case, without port or brackets)."""
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a normalised URL (where its robots.txt is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_onion(host: str) -> bool:
    """Whether ``host`` is a Tor onion service (reachable only through a Tor proxy)."""
    return host.rstrip(".").lower().endswith(".onion")


@dataclass(frozen=True)
class Scope:
    """Which pages a crawl follows."""

    hosts: frozenset[str]
    domains: tuple[str, ...] = ()

    @classmethod
    def of(cls, seeds: list[str], allow_domains: tuple[str, ...] = ()) -> Scope:
        """The seeds' hosts, or (when given) the allowed domains and their sub-domains."""
        if allow_domains:
            return cls(frozenset(), tuple(d.strip(".").lower() for d in allow_domains))
        return cls(frozenset(host_of(s) for s in seeds))

    def follows(self, url: str) -> bool:
        """Whether a page at ``url`` is within the crawl."""
        host = host_of(url)
        if host in self.hosts:
            return True
        return any(host == d or host.endswith("." + d) for d in self.domains)
