"""The use case behind ``vigil crawl``: fetch pages, follow links in scope, hash and match media.

The frontier is the store (``vigil.store.crawl``): seeds and every URL found are rows,
each fetch is recorded together with what it found in one transaction, so a crawl
stopped by Ctrl-C or killed outright is resumed by running it again (a URL fetched
but not yet recorded is fetched again, never recorded twice). URLs are normalised and
kept once per case; media are fetched once per URL, and content seen before (same
SHA-256) takes the earlier hashes and findings instead of being decoded again.

For each URL: robots.txt (unless ignored), politeness (one request per host per
``1/rate`` seconds, longer if the site's Crawl-delay says so), the fetch under the
route's checks and the size and time limits, retries with exponential backoff for
what may pass later (timeouts, connection errors, 429 and 5xx). Content is sniffed,
never taken from Content-Type: media are hashed in memory with every signal
(``hash_content``) and matched by the one matcher against the alert and watch sets;
pages (text) are parsed for links and media. Bodies are dropped after that: matched
media are never written anywhere, only their hashes and findings are kept.

Audit entries: ``crawl.start`` or ``crawl.resume`` (seeds, scope, limits, hash sets),
``crawl.stop`` when interrupted, ``crawl.finish`` with the counts.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from vigil import __version__
from vigil.crawl import CrawlUsageError
from vigil.crawl.extract import extract
from vigil.crawl.fetcher import DEFAULT_USER_AGENT, Fetcher, Response
from vigil.crawl.robots import Robots
from vigil.crawl.route import Route, parse_proxy
from vigil.crawl.urls import Scope, host_of, normalise
from vigil.hashsets.model import HashSetInfo, HashSetKind
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff
from vigil.services.cases import Case, CaseService
from vigil.services.matcher import Matcher, MatchOptions, Query, open_snapshot
from vigil.signals.filehash import HashOptions, hash_content
from vigil.store import Store
from vigil.store.crawl import CrawlRepository, CrawlUrl

MiB = 1 << 20
#: Fetches are recorded in batches, one transaction at most this often (seconds) or
#: this large: a crawl killed outright fetches again what its last batch held.
COMMIT_SECONDS = 0.25
COMMIT_ROWS = 256
#: A page's links and media beyond this many are not queued (a hostile page cannot
#: flood the frontier); the page's record says how many there were.
MAX_FOUND_PER_PAGE = 10_000


@dataclass(frozen=True)
class CrawlRequest:
    """What to crawl, into which case, how far, how politely, through which route."""

    seeds: tuple[str, ...]
    case: str
    depth: int = 2  # links followed from the seeds (0: the seeds only)
    max_pages: int = 1000  # pages fetched in the case, over all runs
    max_media: int = 100_000  # media fetched in the case, over all runs
    allow_domains: tuple[str, ...] = ()  # empty: the seeds' hosts (--same-host)
    proxy: str | None = None  # socks5h://host:port
    rate: float = 1.0  # requests per second per host; 0: no limit
    user_agent: str = DEFAULT_USER_AGENT
    ignore_robots: bool = False
    allow_private: bool = False
    hashsets: tuple[str, ...] = ()  # empty: every alert and watch set
    examiner: str | None = None
    threshold: int | None = None  # PDQ distance; None: each set's own
    max_page_bytes: int = 8 * MiB
    max_media_bytes: int = 64 * MiB
    timeout: float = 30.0  # seconds for one response
    retries: int = 2  # further tries of a URL that may pass later
    concurrency: int = 4  # fetches at once (never two to one host)
    backoff: float = 2.0  # seconds before the first retry, doubled each time


@dataclass
class CrawlProgress:
    """Counters of this run, for progress displays and the summary."""

    pages: int = 0
    media: int = 0
    matched: int = 0
    errors: int = 0
    skipped: int = 0
    retries: int = 0
    queued: int = 0
    seconds: float = 0.0


@dataclass
class CrawlOutcome:
    """The case, this run's counters, the case's counts, whether it resumed."""

    case: Case
    progress: CrawlProgress
    counts: dict[str, int]
    resumed: bool = False
    sets: list[HashSetInfo] = field(default_factory=list)


def crawl_settings(
    request: CrawlRequest, seeds: list[str], sets: list[HashSetInfo]
) -> dict[str, Any]:
    """What the case records about a crawl (audit entry and case settings)."""
    return {
        "vigil": __version__,
        "seeds": seeds,
        "depth": request.depth,
        "max_pages": request.max_pages,
        "max_media": request.max_media,
        "scope": list(request.allow_domains) or "same-host",
        "proxy": request.proxy,
        "rate_per_host": request.rate,
        "user_agent": request.user_agent,
        "robots": "ignored" if request.ignore_robots else "honoured",
        "allow_private": request.allow_private,
        "pdq_threshold": request.threshold,
        "limits": {
            "page_bytes": request.max_page_bytes,
            "media_bytes": request.max_media_bytes,
            "timeout": request.timeout,
            "retries": request.retries,
        },
        "hash_sets": [
            {"name": i.name, "kind": str(i.kind), "version": i.version, "entries": i.entry_count}
            for i in sets
        ],
    }


class Crawler:
    """One run of a crawl request over an open store (see the module doc)."""

    def __init__(
        self,
        store: Store,
        request: CrawlRequest,
        on_progress: Callable[[CrawlProgress], None] | None = None,
        hash_media: bool = True,
    ) -> None:
        """Prepare the run: check the request, open the case, choose the sets, seed the frontier.

        ``hash_media`` False fetches media without hashing them (benchmarks only).
        """
        if request.concurrency < 1:
            raise CrawlUsageError("--concurrency must be at least 1")
        if min(request.rate, request.depth, request.max_pages, request.max_media) < 0:
            raise CrawlUsageError("--rate, --depth, --max-pages and --max-media cannot be negative")
        seeds = [normalise(s) for s in request.seeds]
        bad = [s for s, n in zip(request.seeds, seeds, strict=True) if n is None]
        if bad or not seeds:
            raise CrawlUsageError(f"not an http(s) URL: {', '.join(bad) or '(no seed)'}")
        self.seeds = [s for s in seeds if s is not None]
        self.store = store
        self.request = request
        self.on_progress = on_progress
        self.hash_media = hash_media
        self.repo = CrawlRepository(store.db)
        self.cases = CaseService(store)
        self.route = Route(parse_proxy(request.proxy), request.allow_private)
        self.scope = Scope.of(self.seeds, request.allow_domains)
        snapshot = open_snapshot(store)
        chosen = (
            list(snapshot.select(request.hashsets).values())
            if request.hashsets
            else [i for i in snapshot.sets.values() if i.kind != HashSetKind.ignore]
        )
        self.sets = sorted(
            (i for i in chosen if i.kind != HashSetKind.ignore), key=lambda i: i.name
        )
        self.matcher = (
            Matcher(
                snapshot,
                store,
                sets={int(i.id or 0): i for i in self.sets},
                options=MatchOptions(threshold=request.threshold),
            )
            if self.sets
            else None
        )
        self.case, _ = self.cases.open(request.case, examiner=request.examiner)
        self.progress = CrawlProgress()
        self._next_at: dict[str, float] = {}
        self._robots_seen: list[dict[str, Any]] = []
        self._writes: list[tuple[CrawlUrl, list[CrawlUrl], list[tuple[str, str]], float]] = []
        self._written_at = time.monotonic()
        self._first_of: dict[str, CrawlUrl] = {}  # sha256 -> first medium (this run)

    # -- the run --------------------------------------------------------------------------

    def run(self) -> CrawlOutcome:
        """Crawl until the frontier is empty or the page limit is reached; resumable."""
        started = time.monotonic()
        resumed = bool(self.repo.counts(self.case.id))
        settings = crawl_settings(self.request, self.seeds, self.sets)
        self.cases.save_settings(self.case, {**self.case.settings, "crawl": settings})
        actor = self.request.examiner
        self.cases.record(self.case, "crawl.resume" if resumed else "crawl.start", settings, actor)
        self.repo.enqueue(
            self.case.id,
            [CrawlUrl(url=s, kind="page", depth=0, host=host_of(s)) for s in self.seeds],
        )
        fetcher = Fetcher(
            self.route, user_agent=self.request.user_agent, timeout=self.request.timeout
        )
        robots = Robots(
            fetcher,
            self.request.user_agent,
            ignore=self.request.ignore_robots,
            on_fetch=lambda url, status, error: self._robots_seen.append(
                {"url": url, "status": status, "error": error}
            ),
        )
        try:
            self._loop(fetcher, robots)
            self._flush()
        except KeyboardInterrupt:
            self._flush()
            self.progress.seconds = time.monotonic() - started
            stopped = {"reason": "interrupted", **self._summary()}
            self.cases.record(self.case, "crawl.stop", stopped, actor)
            raise
        finally:
            fetcher.close()
        self.progress.seconds = time.monotonic() - started
        self.cases.record(self.case, "crawl.finish", self._summary(), actor)
        return CrawlOutcome(
            self.case, self.progress, self.repo.counts(self.case.id), resumed, self.sets
        )

    def _summary(self) -> dict[str, Any]:
        return {
            "this_run": asdict(self.progress),
            "case": self.repo.counts(self.case.id),
            "robots": self._robots_seen[-50:],
        }

    def _fetched(self) -> dict[str, int]:
        """Pages and media fetched (or refused) in the case so far, over all runs."""
        counts = self.repo.counts(self.case.id)
        out = {"page": 0, "media": 0}
        for key, n in counts.items():
            kind, state = key.split(".", 1)
            if state != "queued":
                out[kind] = out.get(kind, 0) + n
        return out

    def _loop(self, fetcher: Fetcher, robots: Robots) -> None:
        """Schedule fetches: up to ``concurrency`` at once, one per host, politely.

        Fetches run in worker threads (they wait on the network); everything else
        (robots, sniffing, hashing, matching, parsing, the store) runs here, in order.
        """
        fetched = self._fetched()
        limits = {"page": self.request.max_pages, "media": self.request.max_media}
        pending: deque[CrawlUrl] = deque()
        flying: dict[Future[Response], CrawlUrl] = {}
        pool = ThreadPoolExecutor(self.request.concurrency, thread_name_prefix="vigil-crawl")
        try:
            while True:
                if not pending and not flying:
                    self._flush()
                    open_kinds = tuple(k for k in ("page", "media") if fetched[k] < limits[k])
                    if open_kinds:
                        pending.extend(self.repo.queued(self.case.id, 5000, kinds=open_kinds))
                    if not pending:
                        return
                self.progress.queued = len(pending)
                wait_for = self._start_ready(
                    pending, flying, fetched, limits, fetcher, robots, pool
                )
                if not flying:
                    if pending:
                        time.sleep(wait_for)
                    continue
                done, _ = wait(flying, timeout=wait_for, return_when=FIRST_COMPLETED)
                for future in done:
                    row = flying.pop(future)
                    if self._visited(row, future.result()):
                        fetched[row.kind] += 1
                    else:
                        pending.append(row)  # retried later (not_before set)
                    if self.on_progress is not None:
                        self.on_progress(self.progress)
        finally:
            pool.shutdown(wait=not flying, cancel_futures=True)

    def _start_ready(
        self,
        pending: deque[CrawlUrl],
        flying: dict[Future[Response], CrawlUrl],
        fetched: dict[str, int],
        limits: dict[str, int],
        fetcher: Fetcher,
        robots: Robots,
        pool: ThreadPoolExecutor,
    ) -> float:
        """Start fetches of pending URLs whose host is free and due; seconds to the next due."""
        busy = {row.host for row in flying.values()}
        counts = Counter(row.kind for row in flying.values())
        now, wall = time.monotonic(), time.time()
        soonest = 5.0
        index = 0
        while index < len(pending) and len(flying) < self.request.concurrency:
            row = pending[index]
            if fetched[row.kind] + counts[row.kind] >= limits[row.kind]:
                del pending[index]  # left queued: a later run with a higher limit takes it up
                continue
            due = max(self._next_at.get(row.host, 0.0), now + max(0.0, row.not_before - wall))
            if row.host in busy or due > now:
                if row.host not in busy:
                    soonest = min(soonest, due - now)
                index += 1
                continue
            del pending[index]
            if not robots.allowed(row.url):
                row.state, row.error = "skipped", "disallowed by robots.txt"
                row.fetched_at = time.time()
                self._record(row)
                self.progress.skipped += 1
                continue
            interval = 1.0 / self.request.rate if self.request.rate else 0.0
            self._next_at[row.host] = time.monotonic() + max(interval, robots.delay(row.url))
            limit = (
                self.request.max_page_bytes if row.kind == "page" else self.request.max_media_bytes
            )
            follow = self.scope.follows if row.kind == "page" else None
            flying[pool.submit(fetcher.get, row.url, limit, follow)] = row
            busy.add(row.host)
            counts[row.kind] += 1
        return max(0.0, soonest)

    # -- one URL --------------------------------------------------------------------------

    def _visited(self, row: CrawlUrl, response: Response) -> bool:
        """Record one fetch; False when the URL is to be retried later."""
        row.attempts += 1
        if response.error and response.retryable and row.attempts <= self.request.retries:
            row.not_before = time.time() + self.request.backoff * 2 ** (row.attempts - 1)
            row.error = response.error
            self._record(row)  # keeps it queued, with its attempts
            self.progress.retries += 1
            return False
        self._fill(row, response)
        found: list[CrawlUrl] = []
        sightings: list[tuple[str, str]] = []
        if response.error is None and response.body:
            kind = media_kind(sniff(response.body[:HEAD_SIZE]))
            row.type = sniff(response.body[:HEAD_SIZE])
            if kind is not None:
                self._hash(row, response.body)
            elif row.kind == "page" and row.type.startswith("text/"):
                found, sightings = self._links(row, response)
        if response.error is not None:
            row.state = "failed"
            self.progress.errors += 1
        else:
            row.state = "done"
            if row.kind == "page":
                self.progress.pages += 1
            else:
                self.progress.media += 1
        self._record(row, found, sightings, response.fetched_at)
        return True

    def _record(
        self,
        row: CrawlUrl,
        found: list[CrawlUrl] | None = None,
        sightings: list[tuple[str, str]] | None = None,
        seen_at: float = 0.0,
    ) -> None:
        self._writes.append((row, found or [], sightings or [], seen_at))
        if (
            len(self._writes) >= COMMIT_ROWS
            or time.monotonic() - self._written_at >= COMMIT_SECONDS
        ):
            self._flush()

    def _flush(self) -> None:
        """Record the fetches made since the last batch, in one transaction."""
        if self._writes:
            self.repo.complete_many(self.case.id, self._writes)
            self._writes = []
        self._written_at = time.monotonic()

    def _fill(self, row: CrawlUrl, response: Response) -> None:
        row.ip = response.ip
        row.status = response.status
        row.final_url = response.final_url if response.final_url != row.url else None
        row.headers = dict(response.headers)
        if response.redirects:
            row.headers["x-vigil-redirects"] = " ".join(response.redirects)
        row.fetched_at = response.fetched_at
        row.size = len(response.body) if response.body else None
        row.error = response.error

    def _links(
        self, row: CrawlUrl, response: Response
    ) -> tuple[list[CrawlUrl], list[tuple[str, str]]]:
        page = response.final_url
        got = extract(response.body, page)
        if len(got.media) > MAX_FOUND_PER_PAGE or len(got.links) > MAX_FOUND_PER_PAGE:
            row.headers["x-vigil-note"] = (
                f"{len(got.media):,} media and {len(got.links):,} links: the first "
                f"{MAX_FOUND_PER_PAGE:,} of each kept"
            )
            got.media, got.links = got.media[:MAX_FOUND_PER_PAGE], got.links[:MAX_FOUND_PER_PAGE]
        found = [
            CrawlUrl(url=m, kind="media", depth=row.depth, host=host_of(m), referrer=row.url)
            for m in got.media
        ]
        if row.depth < self.request.depth:
            found += [
                CrawlUrl(
                    url=link, kind="page", depth=row.depth + 1, host=host_of(link), referrer=row.url
                )
                for link in got.links
                if self.scope.follows(link)
            ]
        return found, [(m, row.url) for m in got.media]

    def _hash(self, row: CrawlUrl, body: bytes) -> None:
        """Hash a medium in memory and match it; content seen before reuses its results."""
        row.sha256 = hashlib.sha256(body).hexdigest()
        earlier = self._first_of.get(row.sha256) or self.repo.first_with_sha256(
            self.case.id, row.sha256
        )
        if earlier is not None and earlier.url != row.url:
            row.hashes, row.matches, row.same_as = earlier.hashes, earlier.matches, earlier.url
        elif self.hash_media:
            record = hash_content(row.url, data=body, options=HashOptions())
            hashes = record.to_json()
            hashes.pop("path", None)
            row.hashes = {k: v for k, v in hashes.items() if v not in (None, [], {})}
            if record.error:
                row.hashes["error"] = record.error
            elif self.matcher is not None:
                row.matches = [
                    f.to_json() for f in self.matcher.match(Query.of(record)) if f.kind != "ignore"
                ]
        if earlier is None:
            self._first_of[row.sha256] = row
        if row.matches:
            self.progress.matched += 1


def crawl_case(
    store: Store,
    request: CrawlRequest,
    *,
    on_progress: Callable[[CrawlProgress], None] | None = None,
) -> CrawlOutcome:
    """Crawl ``request`` into its case (see the module doc); run again to resume."""
    return Crawler(store, request, on_progress).run()
