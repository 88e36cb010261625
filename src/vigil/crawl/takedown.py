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
