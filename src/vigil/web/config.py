"""The service's settings: where the store is, and the limits that protect it.

Taken from ``vigil.settings`` (the ``VIGIL_SERVE_*`` rows of its table), so that every
uvicorn worker process builds the same app from the same settings; ``vigil serve``
hands its options to the workers without touching its own environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vigil.settings import MiB, Settings
from vigil.store.config import database_url
from vigil.web.fetch import FetchPolicy

__all__ = ["MiB", "ServiceConfig"]


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one serving process."""

    database_url: str = field(default_factory=database_url)
    #: Where the PDQ/vPDQ indexes live (None: beside the store, see vigil.services.catalog).
    index_root: Path | None = None
    #: Largest upload read into memory; larger requests get 413 before being read.
    max_upload_bytes: int = 32 * MiB
    #: Largest JSON body (a batch of 10,000 hashes is about 1 MiB).
    max_json_bytes: int = 4 * MiB
    max_batch: int = 10_000
    #: Token bucket per API key: sustained requests per second, and the burst.
    rate_per_second: float = 5_000.0
    burst: float = 10_000.0
    #: How often the store's change counter is polled.
    poll_seconds: float = 1.0
    #: Readiness fails when the last successful poll is older than this.
    stale_seconds: float = 10.0
    #: Deliver webhook events from this process.
    deliver_webhooks: bool = True
    #: Largest decoded image (pixels): larger ones are refused as decompression bombs.
    max_pixels: int = 50_000_000
    #: HMA's routes without a key (HMA's own deployment style; off by default).
    hma_open_routes: bool = False
    #: Whether ``url=`` parameters are fetched, and under which policy.
    fetch: bool = True
    fetch_allow: str | None = None
    fetch_timeout: float = 10.0
    fetch_redirects: int = 3
    #: Keep fetched URLs in the match log.
    log_urls: bool = False

    def fetch_policy(self) -> FetchPolicy:
        """The URL-fetching policy these settings describe."""
        return FetchPolicy.parse_allow(
            self.fetch_allow,
            max_bytes=self.max_upload_bytes,
            timeout=self.fetch_timeout,
            max_redirects=self.fetch_redirects,
        )

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """Settings from the environment (``VIGIL_SERVE_*``; defaults where unset)."""
        return cls.from_settings(Settings.from_env())

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceConfig:
        """The service's part of Vigil's settings."""
        return cls(
            database_url=settings.store_url,
            index_root=settings.serve_index_root,
            max_upload_bytes=settings.serve_max_upload_bytes,
            max_batch=settings.serve_max_batch,
            rate_per_second=settings.serve_rate,
            burst=settings.serve_burst,
            poll_seconds=settings.serve_poll_seconds,
            deliver_webhooks=settings.serve_webhooks,
            max_pixels=settings.serve_max_pixels,
            hma_open_routes=settings.serve_hma_open_routes,
            fetch=settings.serve_fetch,
            fetch_allow=settings.serve_fetch_allow,
            fetch_timeout=settings.serve_fetch_timeout,
            fetch_redirects=settings.serve_fetch_redirects,
            log_urls=settings.serve_log_urls,
        )
