"""``vigil scan`` and ``vigil results``: the triage scan of seized storage into a case.

``vigil scan`` runs again where it stopped: a source (a file on disk with everything
inside it) recorded in the case is not scanned twice. Exit codes: 0 when the scan
finished and every item was read, 1 when it finished with per-item errors (listed in
the case), 2 for usage errors, 130 when interrupted (run the same command to resume).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vigil.cli.common import fail, open_case
from vigil.cli.hash_cmd import Mode, VideoMode
from vigil.errors import UnknownHashSetError, UsageError, VigilError
from vigil.fsutil import atomic_write
from vigil.media.sources.diskimage import IMAGE_FIELDS, image_facts
from vigil.records import ScanItem
from vigil.scan.case_scan import CaseScan, ScanRequest, scan_case
from vigil.scan.engine import Progress as ScanProgress
from vigil.scan.engine import ScanSummary, count_sources
from vigil.services.cases import Case
from vigil.settings import Settings
from vigil.store import Store, open_store

RESULT_FIELDS = (
    "path", "container", "type", "size", "md5", "sha1", "sha256", "pdq", "known",
    "duplicate_of", "matches", "error",
)  # fmt: skip


class ImageFormat(StrEnum):
    """How ``vigil scan --image-format`` reads disk images named as evidence."""

    auto = "auto"
    raw = "raw"
    ewf = "ewf"


class ResultFormat(StrEnum):
    """Formats of ``vigil results``."""

    jsonl = "jsonl"
    csv = "csv"


def scan_command(
    evidence: list[Path] = typer.Argument(..., help="Folders or files: a mounted drive, a copy."),
    case_name: str = typer.Option(
        ..., "--case", "-c", help="The case to scan into (created if new)."
    ),
    hashset: list[str] = typer.Option(
        [], "--hashset", "-s", help="Hash set to use (repeat; default: every alert and ignore set)."
    ),
    examiner: str | None = typer.Option(None, "--examiner", help="Who runs the scan (audit log)."),
    threshold: int | None = typer.Option(
        None, "--threshold", min=0, max=256, help="PDQ distance (default: each set's, else 31)."
    ),
    mode: Mode = typer.Option(Mode.fast, "--mode", help="PDQ decoding path (docs/pdq.md)."),
    video_mode: VideoMode = typer.Option(
        VideoMode.fast,
        "--video-mode",
        help="vPDQ path: fast (same verdicts, about twice as fast) or exact "
        "(bit-identical with the vpdq package); docs/pdq.md.",
    ),
    max_depth: int = typer.Option(
        32, "--max-depth", min=0, help="Archives nested deeper are not opened (error items)."
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0 = all cores)."),
    image_format: ImageFormat = typer.Option(
        ImageFormat.auto,
        "--image-format",
        help="How to read the disk images named as evidence (default: detected from content).",
    ),
    carve: bool = typer.Option(
        False, "--carve", help="Carve pictures out of disk images' unallocated space."
    ),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        help="Run the workers on this Dask scheduler (tcp://HOST:8786; default: "
        "VIGIL_DASK_SCHEDULER, else local processes); the store must be PostgreSQL "
        "(docs/scale.md).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json_progress: bool = typer.Option(
        False, "--json-progress", help="Progress as JSON lines on standard error, for logs."
    ),
) -> None:
    """Scan evidence into a case: hash every file and archive member, match, record."""
    missing = [str(p) for p in evidence if not os.path.lexists(p)]
    if missing:
        fail("scan", f"no such file or folder: {', '.join(missing)}", 2)
    request = ScanRequest(
        roots=[p.absolute() for p in evidence],
        case=case_name,
        hashsets=tuple(hashset),
        examiner=examiner,
        threshold=threshold,
        mode=mode.value,
        video_mode=video_mode.value,
        max_depth=max_depth,
        jobs=jobs,
        image_format=None if image_format == ImageFormat.auto else image_format.value,
        carve=carve,
        cluster=cluster or Settings.from_env().dask_scheduler,
    )
    try:
        store = open_store()
    except VigilError as exc:
        fail("scan", str(exc), 1)
    try:
        outcome = _run(store, request, quiet, json_progress)
    except (UnknownHashSetError, UsageError) as exc:
        fail("scan", str(exc), 2)
    except VigilError as exc:
        fail("scan", str(exc), 1)
    finally:
        store.close()
    if not quiet:
        _print_summary(outcome.case, outcome.summary, outcome.duplicates)
    unexamined = max(outcome.summary.errors, outcome.not_examined)  # earlier runs count too
    if unexamined:
        typer.echo(
            f"scan: finished, with {unexamined:,} items not examined in the case "
            "(each has its error: vigil results)",
            err=True,
        )
    raise typer.Exit(1 if unexamined else 0)


def _run(store: Store, request: ScanRequest, quiet: bool, json_progress: bool) -> CaseScan:
    files_total, bytes_total = count_sources(request.roots)
    counters = ScanProgress(files_total=files_total, bytes_total=bytes_total)
    show = not quiet and not json_progress and sys.stderr.isatty()
    bar = _bar() if show else None
    tasks = {}
    if bar is not None:
        tasks["files"] = bar.add_task("files", total=files_total, matches=0)
        tasks["bytes"] = bar.add_task("bytes", total=bytes_total, matches=0)
        bar.start()
    last = [0.0]

    def on_progress(p: ScanProgress) -> None:
        if bar is not None:
            bar.update(tasks["files"], completed=p.files_done + p.skipped_done, matches=p.matches)
            bar.update(tasks["bytes"], completed=p.bytes_done, matches=p.matches)
        elif json_progress and time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            typer.echo(json.dumps({"progress": asdict(p)}), err=True)

    try:
        outcome = scan_case(store, request, progress=counters, on_progress=on_progress)
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
        fail("scan", "interrupted: run the same command again to resume", 130)
    finally:
        if bar is not None:
            bar.stop()
    if json_progress:
        typer.echo(json.dumps({"progress": asdict(counters)}), err=True)
    return outcome


def _bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:>5}"),
        BarColumn(),
        MofNCompleteColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("matches: {task.fields[matches]}"),
        console=Console(stderr=True),
        transient=True,
    )


def _print_summary(case: Case, summary: ScanSummary, duplicates: int) -> None:
    console = Console(stderr=False, width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"case {case.name}", show_header=False)
    table.add_column(justify="right")
    table.add_column()
    rows = [
        ("items this run", f"{summary.items:,}"),
        ("files", f"{summary.files:,} ({summary.bytes / 1e6:,.1f} MB)"),
        ("media", f"{summary.media:,}"),
        ("matched items", f"{summary.matched_items:,}"),
        ("known (ignore sets)", f"{summary.known:,}"),
        ("unknown media", f"{summary.unknown_media:,}"),
        ("duplicates (whole case)", f"{duplicates:,}"),
        ("errors: items not examined", f"{summary.errors:,}"),
        ("resumed: sources already done", f"{summary.resumed_sources:,}"),
        ("time", f"{summary.seconds:,.1f} s"),
    ]
    for name, count in sorted(summary.matches_by_hashset.items()):
        rows.append((f"matched in {name}", f"{count:,}"))
    for category, count in sorted(summary.matches_by_category.items()):
        rows.append((f"matched, category {category}", f"{count:,}"))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def results_command(
    case_name: str = typer.Argument(..., help="The case."),
    matches_only: bool = typer.Option(False, "--matches-only", help="Only items that matched."),
    output_format: ResultFormat = typer.Option(
        ResultFormat.jsonl, "--format", help="jsonl or csv."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (default: stdout)."),
) -> None:
    """Export a case's items (fields: docs/scan.md)."""
    from vigil.report.case_export import csv_cell  # neutralised, visible cells

    with open_case("results", case_name) as (cases, case):
        text = io.StringIO()
        writer = _csv_writer(text) if output_format == ResultFormat.csv else None
        for item in cases.items(case, matches_only=matches_only):
            record = _result(item)
            if writer is not None:
                record["matches"] = json.dumps(record["matches"]) if record["matches"] else ""
                writer.writerow({name: csv_cell(value) for name, value in record.items()})
            else:
                text.write(json.dumps(record, ensure_ascii=False) + "\n")
    if out is None:
        sys.stdout.write(text.getvalue())
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, text.getvalue())
    except OSError as exc:
        fail("results", f"cannot write {out}: {exc.strerror}", 1)


def _csv_writer(stream: io.StringIO) -> csv.DictWriter:  # type: ignore[type-arg]
    writer = csv.DictWriter(
        stream, fieldnames=[*RESULT_FIELDS, "kind", "mtime", "pdq_quality", *IMAGE_FIELDS]
    )
    writer.writeheader()
    return writer


def _result(item: ScanItem) -> dict[str, Any]:
    record = {name: getattr(item, name) for name in RESULT_FIELDS}
    record["matches"] = [
        {
            k: m.get(k)
            for k in ("hashset", "signal_type", "distance", "category", "entry", "variant")
        }
        for m in item.matches
    ]
    record.update(kind=item.kind, mtime=item.mtime, pdq_quality=item.pdq_quality)
    record.update(image_facts(item.notes))  # disk images: deleted, partition, inode, ...
    return record
