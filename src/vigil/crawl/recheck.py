"""``vigil recheck``: look at every notified URL again and record whether it is gone.

Outcomes, each recorded with the time (``crawl_checks``):

* ``gone``: HTTP 404, 410 or 451, or the host name no longer resolves;
* ``changed``: the URL serves other content that matches no hash set any more;
* ``present``: the same content (same SHA-256), or other content that still matches;
* ``error``: no answer that tells (a timeout, a refused connection, 5xx): looked
  at again on the next recheck.

The first ``gone`` or ``changed`` after a notice ends its time to removal
(``takedown.py``). A recheck goes through the same route and checks as the crawl
(the ``--proxy`` and ``--allow-private`` given again). Nothing fetched is kept.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field

from vigil.crawl.fetcher import DEFAULT_USER_AGENT, Fetcher
from vigil.crawl.route import Route, parse_proxy
from vigil.hashsets.model import HashSetKind
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.services.cases import CaseService
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.signals.filehash import HashOptions, hash_content
from vigil.store import Store
from vigil.store.crawl import Check, CrawlRepository

GONE_STATUSES = frozenset({404, 410, 451})


@dataclass(frozen=True)
class RecheckRequest:
    """Which case, and the route to look through."""

    case: str
    proxy: str | None = None
    allow_private: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 30.0
    max_bytes: int = 64 << 20
    examiner: str | None = None


@dataclass
class RecheckOutcome:
    """The checks of one recheck and their counts by outcome."""

    checks: list[Check] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def recheck_case(store: Store, request: RecheckRequest) -> RecheckOutcome:
    """Fetch every notified URL of the case again; record and return each outcome."""
    cases = CaseService(store)
    case = cases.require(request.case)
    repo = CrawlRepository(store.db)
    route = Route(parse_proxy(request.proxy), request.allow_private)
    snapshot = open_snapshot(store)
    sets = {i: s for i, s in snapshot.sets.items() if s.kind != HashSetKind.ignore}
    matcher = Matcher(snapshot, store, sets=sets)
    outcome = RecheckOutcome()
    seen: set[str] = set()
    with Fetcher(route, user_agent=request.user_agent, timeout=request.timeout) as fetcher:
        for notified in repo.notices(case.id):
            if notified.url in seen:
                continue
            seen.add(notified.url)
            before = repo.get(case.id, notified.url)
            got = fetcher.get(notified.url, request.max_bytes)
            sha256 = hashlib.sha256(got.body).hexdigest() if got.body else None
            if got.status in GONE_STATUSES or (got.status is None and _unresolvable(got.error)):
                result = "gone"
            elif got.error or got.status is None or got.status >= 300:
                result = "error"
            elif before is not None and sha256 == before.sha256:
                result = "present"
            else:
                record = hash_content(notified.url, data=got.body, options=HashOptions())
                still = media_kind(sniff(got.body[:HEAD_SIZE])) is not None and any(
                    f.kind != "ignore" for f in matcher.match(Query.of(record))
                )
                result = "present" if still else "changed"
            check = Check(notified.url, time.time(), result, got.status, sha256, got.error)
            repo.add_check(case.id, check)
            outcome.checks.append(check)
            outcome.counts[result] += 1
    cases.record(
        case, "recheck", {"checked": len(outcome.checks), **outcome.counts}, request.examiner
    )
    return outcome


def _unresolvable(error: str | None) -> bool:
    """Whether a fetch failed because the host name has no address any more."""
    return bool(error) and ("cannot resolve" in str(error) or "has no address" in str(error))
