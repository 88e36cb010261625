"""Delivering match events to webhooks: signed, retried with backoff, from the queue.

Each event is POSTed as JSON with ``X-Vigil-Event`` (its id, for dedupe),
``X-Vigil-Timestamp`` and ``X-Vigil-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<timestamp>.<body>`` under the webhook's secret (the timestamp inside the MAC lets a
receiver refuse replays). A 2xx answer marks the delivery done; anything else, or no
answer, schedules a retry after 1, 2, 4 ... seconds (at most 5 minutes) until
``MAX_ATTEMPTS``. The queue is a table, so a restart resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import httpx

from vigil.services.access import QueuedEvent, actions
from vigil.web.pool import StorePool

log = logging.getLogger("vigil.web.actions")
MAX_BACKOFF = 300.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for one delivery."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed attempts."""
    return min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))


class WebhookWorker:
    """A daemon thread draining the queue."""

    def __init__(self, pool: StorePool, idle_seconds: float = 0.5, timeout: float = 5.0) -> None:
        """Deliver from the store behind ``pool``."""
        self.pool = pool
        self.idle_seconds = idle_seconds
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering."""
        self._thread = threading.Thread(target=self._run, name="vigil-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current delivery."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def poke(self) -> None:
        """Look at the queue now (an event was just queued)."""
        self._wake.set()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    busy = self.deliver_due(client)
                except Exception:
                    log.exception("webhook delivery loop failed")
                    busy = False
                if not busy:
                    self._wake.wait(self.idle_seconds)
                    self._wake.clear()

    def deliver_due(self, client: httpx.Client) -> bool:
        """Deliver what is due; True if anything was."""
        with self.pool.store() as store:
            claimed = actions(store).claim()
        for event in claimed:
            if self._stop.is_set():
                break
            error = self._post(client, event)
            with self.pool.store() as store:
                repo = actions(store)
                if error is None:
                    repo.delivered(event.row)
                else:
                    repo.failed(event.row, error, backoff(event.attempts + 1))
                    log.warning("webhook %s event %s: %s", event.url, event.event_id, error)
        return bool(claimed)

    def _post(self, client: httpx.Client, event: QueuedEvent) -> str | None:
        body = event.payload.encode()
        stamp = str(int(time.time()))
        try:
            response = client.post(
                event.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": "vigil-webhooks",
                    "X-Vigil-Event": event.event_id,
                    "X-Vigil-Timestamp": stamp,
                    "X-Vigil-Signature": sign(event.secret, stamp, body),
                },
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
