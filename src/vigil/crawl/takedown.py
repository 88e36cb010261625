"""Time to removal: from each notice to the first check that found the URL gone or changed.

The figure hotlines publish. For every notified URL: when it was notified, when it
was first found removed (``gone`` or ``changed``, ``recheck.py``), and the hours in
between; URLs not yet found removed are "still online" (with when they were last
seen present). The median and the 90th percentile are of the removed ones
(nearest-rank percentile: a figure that was observed, not interpolated).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.store import Store
from vigil.store.crawl import CrawlRepository

REMOVED = frozenset({"gone", "changed"})


@dataclass
class Takedown:
    """Per-URL removal times and the figures the report shows."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    notified: int = 0
    removed: int = 0
    still_online: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def takedown(store: Store, case_id: int) -> Takedown:
    """The case's notices and checks as time-to-removal figures."""
    repo = CrawlRepository(store.db)
    checks: dict[str, list[Any]] = {}
    for check in repo.checks(case_id):
        checks.setdefault(check.url, []).append(check)
    out = Takedown()
    hours: list[float] = []
    for notice in repo.notices(case_id):
        later = [c for c in checks.get(notice.url, []) if c.checked_at >= notice.notified_at]
        removed = next((c for c in later if c.outcome in REMOVED), None)
        row: dict[str, Any] = {
            "url": notice.url,
            "provider": notice.provider,
            "notified_at": notice.notified_at,
            "checks": len(later),
            "last_outcome": later[-1].outcome if later else None,
            "removed_at": removed.checked_at if removed else None,
            "hours": None,
        }
        if removed is not None:
            row["hours"] = (removed.checked_at - notice.notified_at) / 3600
            hours.append(row["hours"])
        out.rows.append(row)
    out.notified = len(out.rows)
    out.removed = len(hours)
    out.still_online = out.notified - out.removed
    if hours:
        out.median_hours = statistics.median(hours)
        out.p90_hours = percentile(hours, 90)
    return out


def _utc(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def takedown_context(store: Store, case_id: int) -> dict[str, Any] | None:
    """What the report's takedown section shows; None for a case that was never crawled.

    The crawl's finds (URL, pages, host, address, first seen, hashes, findings), their
    notices and the time to removal, and the crawl's counts.
    """
    repo = CrawlRepository(store.db)
    counts = repo.counts(case_id)
    if not counts:
        return None
    figures = takedown(store, case_id)
    by_url = {r["url"]: r for r in figures.rows}
    finds = []
    for row in repo.urls(case_id, kind="media"):
        if not row.matches or row.state != "done":
            continue
        notice = by_url.get(row.url)
        if notice is None:
            status = "not notified"
        elif notice["hours"] is not None:
            status = f"{notice['last_outcome'] or 'removed'} after {notice['hours']:.1f} h"
        else:
            status = f"online ({notice['last_outcome'] or 'not rechecked'})"
        finds.append(
            {
                "url": row.url,
                "pages": repo.sightings(case_id, row.url)[:3],
                "host": row.host,
                "ip": row.ip or "resolved by proxy",
                "first_seen": _utc(row.fetched_at),
                "sha256": row.sha256,
                "md5": row.hashes.get("md5"),
                "pdq": row.hashes.get("pdq"),
                "matches": row.matches,
                "provider": notice["provider"] if notice else "",
                "notified": _utc(notice["notified_at"]) if notice else "",
                "status": status,
            }
        )
    stats = [
        ("pages fetched", sum(n for k, n in counts.items() if k in ("page.done", "page.failed"))),
        ("media fetched", counts.get("media.done", 0)),
        ("fetch errors", sum(n for k, n in counts.items() if k.endswith(".failed"))),
        ("skipped by robots.txt", sum(n for k, n in counts.items() if k.endswith(".skipped"))),
        ("still queued", sum(n for k, n in counts.items() if k.endswith(".queued"))),
        ("matched media", len(finds)),
        ("URLs notified", figures.notified),
        ("removed (gone or changed)", figures.removed),
        ("still online", figures.still_online),
    ]
    hours = [
        ("median time to removal", figures.median_hours),
        ("90th percentile", figures.p90_hours),
    ]
    return {
        "stats": [(k, f"{v:,}") for k, v in stats],
        "hours": [(k, "" if v is None else f"{v:,.1f} h") for k, v in hours],
        "finds": finds,
    }
