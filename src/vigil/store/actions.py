"""Webhooks, the persistent queue of their events, and the match log.

A match is recorded (``match_log``: which key asked, what matched, when; never media)
and, in the same transaction, one queue row per configured webhook is written. The
delivery worker (``vigil.web.actions``) then claims due rows with a lease, so that
several serving processes share one queue without sending a row twice at once; a row
whose worker died is claimed again when its lease runs out. Delivery is therefore at
least once, and the event id lets receivers drop duplicates.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from vigil.errors import UsageError
from vigil.store.database import Database

#: Give up on an event after this many failed attempts (kept, marked failed).
MAX_ATTEMPTS = 12
LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class Webhook:
    """A configured receiver of match events."""

    id: int
    url: str
    secret: str
    created_at: str


@dataclass(frozen=True)
class QueuedEvent:
    """One delivery to make: an event for one webhook."""

    row: int
    event_id: str
    url: str
    secret: str
    payload: str
    attempts: int


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ActionRepository:
    """Webhooks, their event queue and the match log, in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db

    # -- webhooks --------------------------------------------------------------------

    def add_webhook(self, url: str, secret: str) -> Webhook:
        """Configure a receiver; UsageError for a URL that is not http(s) or a short secret."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"webhook URL must be http:// or https://, got {url!r}")
        if len(secret) < 16:
            raise UsageError("webhook secret must be at least 16 characters")
        created = self.db.execute(
            "INSERT INTO webhooks (url, secret, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (url) DO NOTHING RETURNING id",
            (url, secret, _now()),
        )
        if not created:
            raise UsageError(f"webhook {url} is configured already")
        return next(w for w in self.webhooks() if w.id == int(created[0][0]))

    def webhooks(self) -> list[Webhook]:
        """Every configured webhook."""
        return [
            Webhook(int(i), u, s, c)
            for i, u, s, c in self.db.execute(
                "SELECT id, url, secret, created_at FROM webhooks ORDER BY id"
            )
        ]

    def remove_webhook(self, url: str) -> bool:
        """Remove a receiver and its undelivered events."""
        with self.db.transaction():
            rows = self.db.execute("DELETE FROM webhooks WHERE url = ? RETURNING id", (url,))
            if not rows:
                return False
            self.db.execute(
                "DELETE FROM webhook_events WHERE webhook_id = ? AND delivered_at IS NULL",
                (rows[0][0],),
            )
        return True

    # -- recording a match -----------------------------------------------------------

    def record_match(
        self, key_name: str, route: str, query: dict[str, Any], matches: list[dict[str, Any]]
    ) -> str:
        """Log a match and queue its event for every webhook; return the event id."""
        event_id = str(uuid.uuid4())
        at = _now()
        payload = json.dumps(
            {
                "event_id": event_id,
                "type": "match",
                "at": at,
                "api_key": key_name,
                "route": route,
                "query": query,
                "matches": matches,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO match_log (at, key_name, route, event_id, query, matches) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (at, key_name, route, event_id, json.dumps(query), json.dumps(matches)),
            )
            hooks = self.db.execute("SELECT id FROM webhooks")
            if hooks:
                self.db.executemany(
                    "INSERT INTO webhook_events (event_id, webhook_id, payload, created_at, "
                    "next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                    [(event_id, int(h[0]), payload, at, time.time()) for h in hooks],
                )
        return event_id

    def match_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest match log rows, newest first."""
        rows = self.db.execute(
            "SELECT at, key_name, route, event_id, query, matches FROM match_log "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                "at": at,
                "api_key": key,
                "route": route,
                "event_id": eid,
                "query": json.loads(q),
                "matches": json.loads(m),
            }
            for at, key, route, eid, q, m in rows
        ]

    # -- the delivery queue ----------------------------------------------------------

    def claim(self, limit: int = 20) -> list[QueuedEvent]:
        """Lease up to ``limit`` due events to this worker."""
        now = time.time()
        due = self.db.execute(
            "SELECT e.id FROM webhook_events e WHERE e.delivered_at IS NULL "
            "AND e.attempts < ? AND e.next_attempt_at <= ? "
            "AND (e.lease_until IS NULL OR e.lease_until < ?) ORDER BY e.id LIMIT ?",
            (MAX_ATTEMPTS, now, now, limit),
        )
        claimed: list[QueuedEvent] = []
        for (row,) in due:
            with self.db.transaction():
                # The conditional UPDATE is the claim: of two workers, one changes the row
                # (and only that one gets it back).
                won = self.db.execute(
                    "UPDATE webhook_events SET lease_until = ? WHERE id = ? "
                    "AND delivered_at IS NULL AND (lease_until IS NULL OR lease_until < ?) "
                    "RETURNING id",
                    (now + LEASE_SECONDS, row, now),
                )
                got = won and self.db.execute(
                    "SELECT e.event_id, w.url, w.secret, e.payload, e.attempts "
                    "FROM webhook_events e JOIN webhooks w ON w.id = e.webhook_id "
                    "WHERE e.id = ?",
                    (row,),
                )
            if got:
                eid, url, secret, payload, attempts = got[0]
                claimed.append(QueuedEvent(int(row), eid, url, secret, payload, int(attempts)))
        return claimed

    def delivered(self, row: int) -> None:
        """Mark a delivery done."""
        self.db.execute(
            "UPDATE webhook_events SET delivered_at = ?, attempts = attempts + 1, "
            "lease_until = NULL, last_error = NULL WHERE id = ?",
            (_now(), row),
        )

    def failed(self, row: int, error: str, retry_in: float) -> None:
        """Record a failed attempt; retry after ``retry_in`` seconds."""
        self.db.execute(
            "UPDATE webhook_events SET attempts = attempts + 1, lease_until = NULL, "
            "last_error = ?, next_attempt_at = ? WHERE id = ?",
            (error[:500], time.time() + retry_in, row),
        )

    def queue_status(self) -> dict[str, int]:
        """Counts of pending, delivered and failed (given up) deliveries."""
        row = self.db.execute(
            "SELECT "
            "SUM(CASE WHEN delivered_at IS NULL AND attempts < ? THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN delivered_at IS NULL AND attempts >= ? THEN 1 ELSE 0 END) "
            "FROM webhook_events",
            (MAX_ATTEMPTS, MAX_ATTEMPTS),
        )[0]
        return {
            "pending": int(row[0] or 0),
            "delivered": int(row[1] or 0),
            "failed": int(row[2] or 0),
        }
