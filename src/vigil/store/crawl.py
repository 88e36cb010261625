"""The crawl repository: a case's frontier and fetches, where each medium was seen, notices, checks.

Layout (one migration): ``crawl_urls`` one row per normalised URL of a case, both the
frontier and the record of its fetch (``state`` queued, done, failed or skipped; its
host, resolved address, status, kept headers, time, hashes and findings); a crawl
killed at any point and run again takes the queued rows up where they are, and a URL
is one row however often it is linked. ``crawl_sightings`` every page a medium was
seen on. ``crawl_notices`` every URL put in a removal notice (which notice, which
provider, when); ``crawl_checks`` every later look at a notified URL (gone, changed,
present, error), from which the report's time to removal comes.

Times are seconds since the epoch (REAL), so durations are subtractions on both
backends; headers, hashes and findings are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vigil.store.database import Database

SQLITE = """
CREATE TABLE crawl_urls (
    case_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    depth INTEGER NOT NULL,
    referrer TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    not_before REAL NOT NULL,
    host TEXT NOT NULL,
    ip TEXT,
    status INTEGER,
    final_url TEXT,
    headers TEXT,
    fetched_at REAL,
    size INTEGER,
    type TEXT,
    sha256 TEXT,
    hashes TEXT,
    same_as TEXT,
    matches TEXT,
    error TEXT,
    PRIMARY KEY (case_id, url)
);
CREATE INDEX crawl_urls_queue ON crawl_urls (case_id, state, seq);
CREATE INDEX crawl_urls_sha256 ON crawl_urls (case_id, sha256);
CREATE TABLE crawl_sightings (
    case_id INTEGER NOT NULL,
    media_url TEXT NOT NULL,
    page_url TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (case_id, media_url, page_url)
);
CREATE TABLE crawl_notices (
    case_id INTEGER NOT NULL,
    notice TEXT NOT NULL,
    url TEXT NOT NULL,
    provider TEXT NOT NULL,
    contact TEXT,
    report_id TEXT NOT NULL,
    notified_at REAL NOT NULL,
    PRIMARY KEY (case_id, url)
);
CREATE TABLE crawl_checks (
    case_id INTEGER NOT NULL,
    url TEXT NOT NULL,
    checked_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    sha256 TEXT,
    error TEXT,
    PRIMARY KEY (case_id, url, checked_at)
);
"""

POSTGRES = SQLITE.replace("INTEGER", "BIGINT").replace("REAL", "DOUBLE PRECISION")

_URL_COLUMNS = (
    "url", "kind", "seq", "depth", "referrer", "state", "attempts", "not_before", "host", "ip",
    "status", "final_url", "headers", "fetched_at", "size", "type", "sha256", "hashes",
    "same_as", "matches", "error",
)  # fmt: skip
_JSON = {"headers", "hashes", "matches"}


@dataclass
class CrawlUrl:
    """One URL of a crawl: where it is in the frontier, and what its fetch gave."""

    url: str
    kind: str  # page or media
    depth: int
    host: str
    referrer: str | None = None
    seq: int = 0
    state: str = "queued"  # queued, done, failed, skipped
    attempts: int = 0
    not_before: float = 0.0
    ip: str | None = None
    status: int | None = None
    final_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: float | None = None
    size: int | None = None
    type: str | None = None
    sha256: str | None = None
    hashes: dict[str, Any] = field(default_factory=dict)  # the hash record (FileHashes JSON)
    same_as: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Notified:
    """One URL put in a removal notice."""

    url: str
    notice: str
    provider: str
    contact: str | None
    report_id: str
    notified_at: float


@dataclass(frozen=True)
class Check:
    """One later look at a notified URL."""

    url: str
    checked_at: float
    outcome: str  # gone, changed, present, error
    status: int | None
    sha256: str | None
    error: str | None


def _row(row: tuple[Any, ...]) -> CrawlUrl:
    values = dict(zip(_URL_COLUMNS, row, strict=True))
    for name in _JSON:
        empty: Any = [] if name == "matches" else {}
        values[name] = json.loads(values[name]) if values[name] else empty
    return CrawlUrl(**values)


class CrawlRepository:
    """The crawl tables of one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (already migrated)."""
        self.db = db

    # -- the frontier ---------------------------------------------------------------------

    def enqueue(self, case_id: int, urls: Iterable[CrawlUrl]) -> int:
        """Add URLs not yet in the case's frontier (in the given order); how many were new."""
        rows = list(urls)
        if not rows:
            return 0
        added = 0
        with self.db.transaction():
            added = self._enqueue(case_id, rows)
        return added

    def _enqueue(self, case_id: int, rows: list[CrawlUrl]) -> int:
        top = self.db.execute("SELECT MAX(seq) FROM crawl_urls WHERE case_id = ?", (case_id,))
        seq = int(top[0][0] or 0)
        added = 0
        for row in rows:
            seq += 1
            new = self.db.execute(
                "INSERT INTO crawl_urls (case_id, url, kind, seq, depth, referrer, state, "
                "attempts, not_before, host) VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, 0, ?) "
                "ON CONFLICT (case_id, url) DO NOTHING RETURNING seq",
                (case_id, row.url, row.kind, seq, row.depth, row.referrer, row.host),
            )
            added += bool(new)
        return added

    def queued(
        self, case_id: int, limit: int = 1000, kinds: tuple[str, ...] = ("page", "media")
    ) -> list[CrawlUrl]:
        """The next queued URLs of these kinds, in discovery order."""
        marks = ", ".join("?" for _ in kinds)
        rows = self.db.execute(
            f"SELECT {', '.join(_URL_COLUMNS)} FROM crawl_urls WHERE case_id = ? "
            f"AND state = 'queued' AND kind IN ({marks}) ORDER BY seq LIMIT ?",
            (case_id, *kinds, limit),
        )
        return [_row(r) for r in rows]

    def complete(
        self,
        case_id: int,
        done: CrawlUrl,
        found: Iterable[CrawlUrl] = (),
        sightings: Iterable[tuple[str, str]] = (),
        seen_at: float = 0.0,
    ) -> None:
        """Record one fetch, the URLs it found and the media seen on it, in one transaction."""
        self.complete_many(case_id, [(done, list(found), list(sightings), seen_at)])

    def complete_many(
        self,
        case_id: int,
        visits: list[tuple[CrawlUrl, list[CrawlUrl], list[tuple[str, str]], float]],
    ) -> None:
        """Record several fetches with what each found, in one transaction.

        Written together so that a crawl killed between two commits resumes with a
        frontier that matches what was recorded (the fetches of the lost batch are
        fetched again, never recorded twice).
        """
        if not visits:
            return
        with self.db.transaction():
            for done, found, sightings, seen_at in visits:
                self._update(case_id, done)
                if found:
                    self._enqueue(case_id, found)
                for media_url, page_url in sightings:
                    self.db.execute(
                        "INSERT INTO crawl_sightings (case_id, media_url, page_url, seen_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (case_id, media_url, page_url) DO NOTHING",
                        (case_id, media_url, page_url, seen_at),
                    )

    def _update(self, case_id: int, done: CrawlUrl) -> None:
        self.db.execute(
            "UPDATE crawl_urls SET state = ?, attempts = ?, not_before = ?, ip = ?, "
            "status = ?, final_url = ?, headers = ?, fetched_at = ?, size = ?, type = ?, "
            "sha256 = ?, hashes = ?, same_as = ?, matches = ?, error = ? "
            "WHERE case_id = ? AND url = ?",
            (
                done.state,
                done.attempts,
                done.not_before,
                done.ip,
                done.status,
                done.final_url,
                json.dumps(done.headers, sort_keys=True) if done.headers else None,
                done.fetched_at,
                done.size,
                done.type,
                done.sha256,
                json.dumps(done.hashes, sort_keys=True) if done.hashes else None,
                done.same_as,
                json.dumps(done.matches, sort_keys=True) if done.matches else None,
                done.error,
                case_id,
                done.url,
            ),
        )

    def get(self, case_id: int, url: str) -> CrawlUrl | None:
        """The row of one URL, if the case has it."""
        rows = self.db.execute(
            f"SELECT {', '.join(_URL_COLUMNS)} FROM crawl_urls WHERE case_id = ? AND url = ?",
            (case_id, url),
        )
        return _row(rows[0]) if rows else None

    def first_with_sha256(self, case_id: int, sha256: str) -> CrawlUrl | None:
        """The first medium fetched in the case with this content (deduplication by content)."""
        rows = self.db.execute(
            f"SELECT {', '.join(_URL_COLUMNS)} FROM crawl_urls "
            "WHERE case_id = ? AND sha256 = ? AND state = 'done' AND same_as IS NULL "
            "ORDER BY seq LIMIT 1",
            (case_id, sha256),
        )
        return _row(rows[0]) if rows else None

    def urls(self, case_id: int, *, kind: str | None = None) -> Iterator[CrawlUrl]:
        """Every URL of the case in discovery order (``kind``: only pages or only media)."""
        sql = f"SELECT {', '.join(_URL_COLUMNS)} FROM crawl_urls WHERE case_id = ?"
        params: tuple[Any, ...] = (case_id,)
        if kind:
            sql += " AND kind = ?"
            params += (kind,)
        for row in self.db.stream(sql + " ORDER BY seq", params):
            yield _row(row)

    def sightings(self, case_id: int, media_url: str) -> list[str]:
        """The pages a medium was seen on, first seen first."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT page_url FROM crawl_sightings WHERE case_id = ? AND media_url = ? "
                "ORDER BY seen_at, page_url",
                (case_id, media_url),
            )
        ]

    def counts(self, case_id: int) -> dict[str, int]:
        """URLs by ``kind.state`` (``page.done``, ``media.queued``, ...)."""
        return {
            f"{kind}.{state}": int(n)
            for kind, state, n in self.db.execute(
                "SELECT kind, state, COUNT(*) FROM crawl_urls WHERE case_id = ? "
                "GROUP BY kind, state",
                (case_id,),
            )
        }

    # -- notices and checks ---------------------------------------------------------------

    def add_notices(self, case_id: int, notified: Iterable[Notified]) -> None:
        """Record URLs put in notices (a URL already notified keeps its first notice)."""
        with self.db.transaction():
            for n in notified:
                self.db.execute(
                    "INSERT INTO crawl_notices (case_id, notice, url, provider, contact, "
                    "report_id, notified_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (case_id, url) DO NOTHING",
                    (case_id, n.notice, n.url, n.provider, n.contact, n.report_id, n.notified_at),
                )

    def notices(self, case_id: int) -> list[Notified]:
        """Every notified URL of the case, oldest notice first."""
        return [
            Notified(*row)
            for row in self.db.execute(
                "SELECT url, notice, provider, contact, report_id, notified_at "
                "FROM crawl_notices WHERE case_id = ? ORDER BY notified_at, url",
                (case_id,),
            )
        ]

    def add_check(self, case_id: int, check: Check) -> None:
        """Record one look at a notified URL."""
        self.db.execute(
            "INSERT INTO crawl_checks (case_id, url, checked_at, outcome, status, sha256, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                check.url,
                check.checked_at,
                check.outcome,
                check.status,
                check.sha256,
                check.error,
            ),
        )

    def checks(self, case_id: int) -> list[Check]:
        """Every check of the case, in time order."""
        return [
            Check(*row)
            for row in self.db.execute(
                "SELECT url, checked_at, outcome, status, sha256, error FROM crawl_checks "
                "WHERE case_id = ? ORDER BY checked_at, url",
                (case_id,),
            )
        ]
