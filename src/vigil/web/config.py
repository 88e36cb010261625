"""The service's settings: where the store is, and the limits that protect it.

Read from the environment (``VIGIL_SERVE_*``) so that every uvicorn worker process
builds the same app from the same settings; ``vigil serve`` sets them from its options.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vigil.store.config import database_url

MiB = 1 << 20


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


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

    @classmethod
    def from_env(cls) -> ServiceConfig:
        """Settings from ``VIGIL_SERVE_*`` variables (defaults where unset)."""
        root = os.environ.get("VIGIL_SERVE_INDEX_ROOT", "").strip()
        return cls(
            index_root=Path(root) if root else None,
            max_upload_bytes=_env_int("VIGIL_SERVE_MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_batch=_env_int("VIGIL_SERVE_MAX_BATCH", cls.max_batch),
            rate_per_second=_env_float("VIGIL_SERVE_RATE", cls.rate_per_second),
            burst=_env_float("VIGIL_SERVE_BURST", cls.burst),
            poll_seconds=_env_float("VIGIL_SERVE_POLL_SECONDS", cls.poll_seconds),
            deliver_webhooks=os.environ.get("VIGIL_SERVE_WEBHOOKS", "1") != "0",
            max_pixels=_env_int("VIGIL_SERVE_MAX_PIXELS", cls.max_pixels),
        )
