"""The parts one serving process shares between its routes, and the steps they share.

``Service`` holds the settings, the store pool, the snapshot refresher, the key cache,
the rate limiter, the metrics and the webhook worker; the routers (``v1``, ``hma``)
are thin functions over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vigil.errors import InvalidHashError, UsageError
from vigil.media.sniff import media_kind
from vigil.services.access import ApiKey, actions
from vigil.services.matcher import Finding, Query, Snapshot
from vigil.signals import SIGNAL_TYPES, signal_type
from vigil.signals.filehash import FileHashes, HashOptions, hash_content
from vigil.signals.vpdq import to_reference_lines
from vigil.web.actions import WebhookWorker
from vigil.web.auth import KeyCache
from vigil.web.config import ServiceConfig
from vigil.web.errors import ApiError
from vigil.web.freshness import Refresher
from vigil.web.metrics import Metrics
from vigil.web.pool import StorePool
from vigil.web.ratelimit import TokenBuckets
from vigil.web.uploads import Part, parse_json, read_body


@dataclass
class Service:
    """Everything the routes of one process use."""

    config: ServiceConfig
    pool: StorePool
    refresher: Refresher
    keys: KeyCache
    buckets: TokenBuckets
    metrics: Metrics
    webhooks: WebhookWorker | None

    def snapshot(self) -> Snapshot:
        """The current snapshot; 503 while the first one loads."""
        snap = self.refresher.snapshot
        if snap is None:
            raise ApiError(503, "index_not_ready", "index not yet loaded; retry shortly")
        return snap

    def changed(self) -> None:
        """A write was committed: refresh this process's snapshot before answering.

        So that a client reads its own writes from this process (a set it just created
        can be named in its next lookup); other processes see the write at their next
        poll. Called from a worker thread, never on the event loop.
        """
        try:
            self.refresher.refresh()
        except Exception:
            self.refresher.poke()  # the poller retries; the write itself is committed

    async def hash_upload(self, part: Part, *, dihedral: bool = False) -> FileHashes:
        """Hash an uploaded file in memory; 4xx for non-media, bad media and bombs."""
        return await self.hash_data(part.filename or "upload", bytes(part.data), dihedral=dihedral)

    async def hash_data(self, label: str, data: bytes, *, dihedral: bool = False) -> FileHashes:
        """Hash media held in memory (an upload, a fetched URL); nothing is written anywhere."""
        options = HashOptions(dihedral=dihedral, max_pixels=self.config.max_pixels)
        record = await run_in_threadpool(hash_content, label, data, None, options)
        if record.error:
            raise ApiError(422, "bad_media", f"cannot hash the upload: {record.error}")
        if not media_kind(record.type or ""):
            raise ApiError(
                415,
                "unsupported_media",
                f"the upload is not an image or video (its content is {record.type or 'unknown'})",
            )
        return record

    async def read_json(self, request: Request) -> Any:
        """A JSON body of at most ``max_json_bytes``; 400 if it is not JSON, 413 if larger."""
        return self.parse_json(await read_body(request, self.config.max_json_bytes))

    @staticmethod
    def parse_json(raw: bytes) -> Any:
        """Parse JSON; 400 (never a 5xx) for bad or too deeply nested JSON."""
        return parse_json(raw)

    def record(
        self, key: ApiKey, route: str, query: dict[str, Any], hits: list[Finding]
    ) -> str | None:
        """Count matches; log those of alert and watch sets and queue their events."""
        for hit in hits:
            self.metrics.matches.labels(hit.signal_type, str(hit.info.kind)).inc()
        acted = [h.to_api() for h in hits if h.kind != "ignore"]
        if not acted:
            return None
        with self.pool.store() as store:
            event_id = actions(store).record_match(key.name, route, query, acted)
        if self.webhooks is not None:
            self.webhooks.poke()
        return event_id


def upload_signals(record: FileHashes) -> dict[str, str]:
    """An upload's hashes by signal type (vPDQ as reference lines joined by ``;``)."""
    out = {t: v for t in ("md5", "sha1", "sha256", "pdq") if (v := getattr(record, t))}
    if record.vpdq:
        frames = Query.of(record).vpdq or []
        out["vpdq"] = ";".join(to_reference_lines(frames))
    return out


def log_query(record: FileHashes) -> dict[str, Any]:
    """What the match log keeps of an upload: its type, size and hashes, never content."""
    return {"upload": {"type": record.type, "size": record.size, **upload_signals(record)}}


def parse_signal(kind: str, value: str) -> tuple[str, str]:
    """``(signal type, canonical value)``; 400 naming an unknown type or a bad value."""
    name = (kind or "").strip().lower()
    if name not in SIGNAL_TYPES:
        raise ApiError(
            400,
            "unknown_signal_type",
            f"No such SignalType '{kind}' (known: {', '.join(sorted(SIGNAL_TYPES))})",
        )
    try:
        canonical = signal_type(name).validate(value)
    except (InvalidHashError, UsageError) as exc:
        raise ApiError(400, "invalid_hash", f"invalid signal: {exc}") from None
    return name, canonical
