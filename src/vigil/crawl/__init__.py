"""Crawl and take down: find known material where it is published, notify the host, check.

The stage after ``services``: ``crawler.py`` (the ``vigil crawl`` use case) fetches
pages through ``fetcher.py`` (http(s) only, through the configured route, addresses
checked by ``route.py``), honours ``robots.py``, follows what ``extract.py`` finds
within ``urls.Scope``, and hashes and matches each medium in memory through the one
matcher. ``notices.py`` groups confirmed finds by hosting provider (``contacts.py``)
and writes text and XARF v4 notices (``xarf.py``); ``recheck.py`` looks again and
``takedown.py`` turns the checks into time-to-removal figures. docs/crawl.md has the
workflow and the reasons behind the choices.
"""

from __future__ import annotations

from vigil.errors import UsageError, VigilError


class CrawlError(VigilError):
    """A crawl cannot start or a URL cannot be fetched as asked."""


class UnsafeUrlError(CrawlError):
    """A URL the crawler refuses: not http(s), a private address, a direct .onion connection."""


class CrawlUsageError(CrawlError, UsageError):
    """A crawl was asked for in a way that cannot work (bad proxy URL, bad rate, bad seed)."""


__all__ = ["CrawlError", "CrawlUsageError", "UnsafeUrlError"]
