"""robots.txt, honoured by default: fetched once per origin, read by Protego.

Protego implements RFC 9309 as the large crawlers read it (longest match wins,
``*`` and ``$`` in paths, ``Allow`` against ``Disallow``, ``Crawl-delay``), which
the standard library's ``urllib.robotparser`` does not (first match, no wildcards).
The RFC's rules for a robots.txt that cannot be read are followed: a 4xx answer
means no rules (everything allowed), a 5xx answer or no answer at all means
everything is disallowed for this crawl (the site may be down, not permissive).
``--ignore-robots`` is for hotlines whose mandate covers fetching regardless.
"""

from __future__ import annotations

from collections.abc import Callable

from protego import Protego

from vigil.crawl.fetcher import Fetcher
from vigil.crawl.urls import origin_of

#: The most of a robots.txt that is read (RFC 9309 asks crawlers to read at least 500 KiB).
MAX_ROBOTS_BYTES = 512 * 1024


class Robots:
    """Per-origin robots.txt rules for one user agent, fetched on first use."""

    def __init__(
        self,
        fetcher: Fetcher,
        user_agent: str,
        *,
        ignore: bool = False,
        on_fetch: Callable[[str, int | None, str | None], None] | None = None,
    ) -> None:
        """Read rules through ``fetcher``; with ``ignore`` every URL is allowed unread.

        ``on_fetch(url, status, error)`` is told of each robots.txt fetched (the crawl
        records it).
        """
        self.fetcher = fetcher
        self.agent = user_agent.split("/", 1)[0]
        self.ignore = ignore
        self.on_fetch = on_fetch
        self._rules: dict[str, Protego | bool] = {}

    def _for(self, url: str) -> Protego | bool:
        origin = origin_of(url)
        if origin not in self._rules:
            robots_url = origin + "/robots.txt"
            got = self.fetcher.get(robots_url, MAX_ROBOTS_BYTES, follow=lambda _u: True)
            if self.on_fetch is not None:
                self.on_fetch(robots_url, got.status, got.error)
            if got.status is not None and 200 <= got.status < 300 and got.error is None:
                text = got.body.decode("utf-8", errors="replace")
                self._rules[origin] = Protego.parse(text)
            elif got.status is not None and 400 <= got.status < 500:
                self._rules[origin] = True  # no robots.txt: no rules
            elif got.status is None and not got.retryable:
                self._rules[origin] = True  # refused by the route: the fetch says why
            else:
                self._rules[origin] = False  # unreachable: assume complete disallow
        return self._rules[origin]

    def allowed(self, url: str) -> bool:
        """Whether the site's robots.txt lets this crawler fetch ``url``."""
        if self.ignore:
            return True
        rules = self._for(url)
        if isinstance(rules, bool):
            return rules
        return bool(rules.can_fetch(url, self.agent))

    def delay(self, url: str) -> float:
        """The site's Crawl-delay for this crawler in seconds (0 when none or ignored)."""
        if self.ignore:
            return 0.0
        rules = self._for(url)
        if isinstance(rules, bool):
            return 0.0
        value = rules.crawl_delay(self.agent)
        return float(value) if value else 0.0
