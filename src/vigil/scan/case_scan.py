"""The use case behind ``vigil scan``: scan evidence into a case, with its rules and audit trail.

Rules kept here, once: which hash sets a scan uses (the named ones, else every alert
and ignore set; ignore sets are checked in the workers, the others matched here),
what the case records about the scan's settings (hash sets with versions and source
digests, thresholds, modes), and the audit entries of a scan: ``scan.start`` or
``scan.resume``, ``scan.stop`` when interrupted, ``scan.finish`` with the counts.
The CLI only turns options into a ``ScanRequest`` and shows progress and the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil import __version__
from vigil.errors import UsageError
from vigil.hashsets.model import HashSetInfo, HashSetKind
from vigil.media.archives import ArchiveLimits
from vigil.records import ScanItem
from vigil.scan import cluster
from vigil.scan.case_sink import StoreCaseSink
from vigil.scan.engine import Progress, ScanSummary, run_scan
from vigil.scan.known import IgnoreSetLookup
from vigil.scan.worker import ScanOptions
from vigil.services.cases import Case, CaseService
from vigil.services.matcher import Matcher, MatchOptions, Query, Snapshot, open_snapshot
from vigil.signals.filehash import HashOptions
from vigil.store import Store, database_url


@dataclass(frozen=True)
class ScanRequest:
    """What to scan, into which case, against which sets, and how."""

    roots: list[Path]
    case: str
    hashsets: tuple[str, ...] = ()  # empty: every alert and ignore set
    examiner: str | None = None
    threshold: int | None = None  # PDQ distance; None: each set's own, else 31
    mode: str = "fast"  # PDQ decoding path (docs/pdq.md)
    video_mode: str = "fast"  # vPDQ decoding path: fast or exact (docs/pdq.md)
    max_depth: int = 32  # archives nested deeper are error items, not opened
    jobs: int = 0  # worker processes; 0: every core
    image_format: str | None = None  # raw or ewf: forced for disk images named as evidence
    carve: bool = False  # carve pictures out of disk images' unallocated space
    cluster: str | None = None  # a Dask scheduler (tcp://HOST:8786): workers there (docs/scale.md)


@dataclass
class CaseScan:
    """The outcome: the case, this run's summary, and the duplicates in the whole case."""

    case: Case
    summary: ScanSummary
    duplicates: int = 0
    resumed: bool = False
    sets: list[HashSetInfo] = field(default_factory=list)
    not_examined: int = 0  # items of the whole case with an error, earlier runs included


def choose_sets(
    snapshot: Snapshot, names: tuple[str, ...]
) -> tuple[list[HashSetInfo], list[HashSetInfo]]:
    """The sets to match (alert and watch) and to test as known (ignore), in that order."""
    chosen = (
        list(snapshot.select(names).values())
        if names
        else [
            i for i in snapshot.sets.values() if i.kind in (HashSetKind.alert, HashSetKind.ignore)
        ]
    )
    chosen.sort(key=lambda i: i.name)
    alerting = [i for i in chosen if i.kind != HashSetKind.ignore]
    ignoring = [i for i in chosen if i.kind == HashSetKind.ignore]
    return alerting, ignoring


def scan_settings(case: Case, request: ScanRequest, sets: list[HashSetInfo]) -> dict[str, Any]:
    """What the case records about a scan, for the report and the audit log."""
    earlier = case.settings.get("evidence", [])
    return {
        "vigil": __version__,
        "evidence": sorted(set(earlier) | {str(r) for r in request.roots}),
        "hash_sets": [
            {
                "name": i.name,
                "kind": str(i.kind),
                "version": i.version,
                "entries": i.entry_count,
                "source_sha256": i.source_sha256,
                "imported_at": i.imported_at.isoformat() if i.imported_at else None,
            }
            for i in sets
        ],
        "pdq_threshold": request.threshold,
        "pdq_mode": request.mode,
        "video_mode": request.video_mode,
        "archive_depth": request.max_depth,
        "image_format": request.image_format,
        "carve": request.carve,
    }


def finding_matcher(matcher: Matcher | None) -> Callable[[ScanItem], list[dict[str, Any]]]:
    """The engine's per-row matcher: alert and watch findings as stored records."""

    def match(row: ScanItem) -> list[dict[str, Any]]:
        if matcher is None or row.known:
            return []
        return [f.to_json() for f in matcher.match(Query.of(row)) if f.kind != "ignore"]

    return match


def scan_case(
    store: Store,
    request: ScanRequest,
    *,
    progress: Progress | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> CaseScan:
    """Scan the request's evidence into its case; resumable (see ``vigil.scan.engine``).

    On Ctrl-C the case records ``scan.stop`` and KeyboardInterrupt goes on up: the
    same request run again resumes where this one stopped.
    """
    if request.cluster and not database_url().startswith("postgresql"):
        raise UsageError(
            "a cluster scan needs the case store in PostgreSQL, which every worker and "
            "client reaches (VIGIL_DATABASE_URL=postgresql://...); SQLite is one machine's file"
        )
    if request.cluster:  # before the case is touched: a worker that cannot see a root stops it
        with cluster.connect(request.cluster) as client:
            cluster.check_roots(client, request.roots)
    cases = CaseService(store)
    snapshot = open_snapshot(store)
    alerting, ignoring = choose_sets(snapshot, request.hashsets)
    case, _ = cases.open(request.case, examiner=request.examiner)
    resuming = bool(cases.done_sources(case))
    settings = scan_settings(case, request, alerting + ignoring)
    cases.save_settings(case, settings)
    actor = request.examiner
    cases.record(case, "scan.resume" if resuming else "scan.start", settings, actor)
    matcher = (
        Matcher(
            snapshot,
            store,
            sets={int(i.id or 0): i for i in alerting},
            options=MatchOptions(threshold=request.threshold),
        )
        if alerting
        else None
    )
    options = ScanOptions(
        hashing=HashOptions(mode=request.mode, video_mode=request.video_mode),
        archives=ArchiveLimits(max_depth=request.max_depth),
        known=IgnoreSetLookup(database_url(), tuple(i.name for i in ignoring))
        if ignoring
        else None,
        image_format=request.image_format,
        carve=request.carve,
    )
    client = None
    jobs, factory = request.jobs, None
    if request.cluster:
        client = cluster.connect(request.cluster)
        jobs, factory = cluster.cluster_jobs(client), cluster.executor_factory(client)
    try:
        summary = run_scan(
            request.roots,
            StoreCaseSink(store, case),
            options,
            matcher=finding_matcher(matcher),
            jobs=max(jobs, 2) if client else jobs,  # 1 would run in this process
            progress=progress,
            on_progress=on_progress,
            executor_factory=factory,
        )
    except KeyboardInterrupt:
        stopped = {"reason": "interrupted", **cases.counts(case), "seal": cases.seal(case)}
        cases.record(case, "scan.stop", stopped, actor)
        cases.sign_head(case, "scan.stop", actor)
        raise
    finally:
        if client is not None:
            client.close()
    duplicates = cases.duplicate_count(case)
    finished: dict[str, Any] = {**cases.counts(case), "errors": summary.errors}
    finished["matched_items"] = summary.matched_items
    finished["seal"] = cases.seal(case)  # the results as they are now: audit --verify checks
    cases.record(case, "scan.finish", finished, actor)
    cases.sign_head(case, "scan.finish", actor)
    outcome = CaseScan(case, summary, duplicates, resuming, alerting + ignoring)
    outcome.not_examined = cases.not_examined(case)
    return outcome
