"""``vigil hash``: type, size, MD5/SHA-1/SHA-256, PDQ and vPDQ of files and folders.

Walks through the same evidence sources as ``vigil scan`` (``vigil.scan.walk``):
archives are opened and their members listed as ``a.zip!/b.jpg``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vigil.media.archives import ArchiveLimits
from vigil.media.images import DEFAULT_FAST_MIN_SIDE, DEFAULT_MAX_PIXELS
from vigil.scan.walk import hash_units
from vigil.scan.worker import ScanOptions
from vigil.signals.filehash import FileHashes, HashOptions
from vigil.signals.pdq import PDQ_QUALITY_THRESHOLD


class OutputFormat(StrEnum):
    """How ``vigil hash`` writes its records."""

    table = "table"
    jsonl = "jsonl"
    tx = "tx"


class Mode(StrEnum):
    """PDQ decoding path."""

    exact = "exact"
    fast = "fast"


class VideoMode(StrEnum):
    """vPDQ decoding path."""

    fast = "fast"
    exact = "exact"


class Pixels(StrEnum):
    """Which pixels PDQ sees for non-RGB images."""

    rgb = "rgb"
    pytx = "pytx"


def hash_command(
    paths: list[Path] = typer.Argument(
        ..., help="Files or folders (walked recursively; archives are opened)."
    ),
    json_lines: bool = typer.Option(
        False, "--json", help="Write JSON Lines (same as --format jsonl)."
    ),
    output_format: OutputFormat | None = typer.Option(
        None,
        "--format",
        help="table (default on a terminal), jsonl (default otherwise), or tx: ThreatExchange "
        "lines (pdq <hex>, video_md5 <hex>).",
    ),
    mode: Mode = typer.Option(
        Mode.fast,
        "--mode",
        help="PDQ path: exact (full decode, bit-exact with the reference) or fast (reduced "
        "JPEG decode of large photos; see docs/pdq.md).",
    ),
    dihedral: bool = typer.Option(False, "--dihedral", help="Also give the 8 rotation/flip PDQs."),
    video_mode: VideoMode = typer.Option(
        VideoMode.fast,
        "--video-mode",
        help="vPDQ path: fast (the reference's sampling points, B frames and GOP tails "
        "not decoded; same verdicts) or exact (bit-identical with the vpdq package); "
        "docs/pdq.md.",
    ),
    seconds_per_hash: float = typer.Option(
        1.0, "--seconds-per-hash", min=0.0, help="vPDQ sampling interval (0 = every frame)."
    ),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS, "--max-pixels", min=1, help="Refuse images declaring more pixels."
    ),
    fast_min_side: int = typer.Option(
        DEFAULT_FAST_MIN_SIDE, "--fast-min-side", min=64, help="Fast mode keeps sides >= this."
    ),
    pixels: Pixels = typer.Option(
        Pixels.rgb,
        "--pixels",
        help="rgb: hash the colours; pytx: hash the raw channels of palette/CMYK images, "
        "as pytx/HMA do.",
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0 = all cores)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Hash files: type, size, MD5/SHA-1/SHA-256, PDQ for images, vPDQ for videos."""
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        typer.echo(f"vigil hash: no such file or folder: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    fmt = OutputFormat.jsonl if json_lines else output_format
    if fmt is None:
        fmt = OutputFormat.table if sys.stdout.isatty() else OutputFormat.jsonl
    options = HashOptions(
        mode=mode.value,
        dihedral=dihedral,
        video_mode=video_mode.value,
        seconds_per_hash=seconds_per_hash,
        max_pixels=max_pixels,
        fast_min_side=fast_min_side,
        pixels=pixels.value,
    )
    scan_options = ScanOptions(hashing=options, archives=ArchiveLimits())
    units = hash_units(paths, scan_options, jobs)
    show_progress = not quiet and sys.stderr.isatty()
    failed = _write(units, fmt, show_progress)
    raise typer.Exit(1 if failed else 0)


def _write(units: Iterator[list[FileHashes]], fmt: OutputFormat, progress: bool) -> int:
    """Write records as they come; return the number of items that failed."""
    failed = total = 0
    # A table piped to a file keeps its rows whole rather than folding at 80 columns.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    table = _new_table() if fmt == OutputFormat.table else None
    bar = _progress() if progress else None
    task = bar.add_task("hashing", total=None) if bar else None
    if bar:
        bar.start()
    try:
        for records in units:
            for record in records:
                total += 1
                failed += record.error is not None
                if table is not None:
                    _add_row(table, record)
                elif fmt == OutputFormat.jsonl:
                    sys.stdout.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    _write_tx(record)
            if bar and task is not None:
                bar.advance(task)
    finally:
        if bar:
            bar.stop()
    if table is not None:
        out.print(table)
    if failed:
        typer.echo(f"vigil hash: {failed} of {total} files could not be fully hashed", err=True)
    return failed


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _new_table() -> Table:
    table = Table(show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("type", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("md5", no_wrap=True)
    table.add_column("perceptual", no_wrap=True)
    table.add_column("q", justify="right", no_wrap=True)
    table.add_column("note / error", overflow="fold")
    return table


def _short(digest: str | None) -> str:
    """Hashes are shown in full by --json; the table shows their first 16 digits."""
    return f"{digest[:16]}…" if digest else ""


def _add_row(table: Table, r: FileHashes) -> None:
    if r.vpdq is not None:
        perceptual = f"vPDQ: {len(r.vpdq)} frames"
        quality = str(min((f["quality"] for f in r.vpdq), default=0))
    else:
        perceptual = _short(r.pdq)
        quality = "" if r.pdq_quality is None else str(r.pdq_quality)
    note = f"[red]{r.error}[/red]" if r.error else "; ".join(r.notes)
    table.add_row(
        r.path,
        r.type or "",
        "" if r.size is None else f"{r.size:,}",
        r.md5 or "",
        perceptual,
        quality,
        note,
    )
    for name, value in (r.pdq_dihedral or {}).items():
        if name != "original":
            table.add_row("", "", "", "", _short(value), "", name)


def _write_tx(r: FileHashes) -> None:
    if r.pdq and r.pdq_quality is not None:
        if r.pdq_quality >= PDQ_QUALITY_THRESHOLD:
            sys.stdout.write(f"pdq {r.pdq}\n")
        else:
            typer.echo(
                f"vigil hash: {r.path}: PDQ quality {r.pdq_quality} < 50, not written", err=True
            )
    if r.vpdq is not None and r.md5:
        sys.stdout.write(f"video_md5 {r.md5}\n")
