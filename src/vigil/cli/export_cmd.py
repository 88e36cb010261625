"""``vigil export CASE --format vics|csv``: the case's media for partners' tools.

VICS is written in the hash-set shape that IPED, Griffeye and Vigil all read;
``--vics-shape case`` writes the Case record instead (IPED does not read it). Media
without a category under the export's profile are written without one (no grade is
invented) and counted in a warning, because IPED skips such records.

Exit codes: 0 written, 1 when it could not be written, 2 for usage errors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO

import typer

from vigil.cli.common import open_case
from vigil.errors import VigilError
from vigil.fsutil import atomic_open
from vigil.report.case_export import (
    DEFAULT_PROFILE,
    case_media,
    uncategorised,
    write_csv,
    write_vics,
)


class ExportFormat(StrEnum):
    """Formats of ``vigil export``."""

    vics = "vics"
    csv = "csv"


class VicsShape(StrEnum):
    """VICS shapes: the hash-set shape every receiver reads, or one Case record."""

    media = "media"
    case = "case"


def export_command(
    case_name: str = typer.Argument(..., help="The case."),
    output_format: str = typer.Option(
        ExportFormat.vics.value,
        "--format",
        help="vics or csv; with --confirmed any hash-set format (as vigil hashset export).",
    ),
    categories: str | None = typer.Option(
        None, "--categories", help="Only media of these categories (comma-separated, e.g. 1,2)."
    ),
    matched_only: bool = typer.Option(False, "--matched-only", help="Only media that matched."),
    profile: str = typer.Option(
        DEFAULT_PROFILE, "--profile", help="Category profile of the export."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (default: stdout)."),
    vics_shape: VicsShape = typer.Option(
        VicsShape.media,
        "--vics-shape",
        help="media: the hash-set shape (IPED, Griffeye, Vigil); case: one VICS Case record.",
    ),
    confirmed: bool = typer.Option(
        False,
        "--confirmed",
        help="Only media confirmed in review (vigil review), as a hash set to import.",
    ),
) -> None:
    """Export the case's media (one record per distinct file) as VICS 2.0 or CSV."""
    if confirmed:
        _export_confirmed(case_name, output_format, out)
        return
    if output_format not in (ExportFormat.vics.value, ExportFormat.csv.value):
        typer.echo(f"vigil export: --format is vics or csv (not {output_format!r})", err=True)
        raise typer.Exit(2)
    wanted = {c.strip() for c in categories.split(",") if c.strip()} if categories else None
    with open_case("export", case_name) as (cases, case):
        media = case_media(
            cases.items(case),
            profile=profile,
            categories=wanted,
            matched_only=matched_only,
        )
        cases.record(
            case,
            "export",
            {
                "format": output_format,
                "records": len(media),
                "out": str(out or "stdout"),
                **({"vics_shape": vics_shape.value} if output_format == ExportFormat.vics else {}),
            },
        )

    def produce(handle: IO[bytes]) -> int:
        if output_format == ExportFormat.vics:
            return write_vics(media, case, handle, profile, shape=vics_shape.value)
        return write_csv(media, handle)

    if out is None:
        count = produce(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        count = _atomic(out, produce)
    typer.echo(f"vigil export: {count} media records", err=True)
    missing = uncategorised(media) if output_format == ExportFormat.vics else 0
    if missing:
        typer.echo(
            f"vigil export: warning: {missing} of {count} records have no category in profile "
            f"{profile}; IPED skips records without a Category (--matched-only leaves out "
            "media that matched nothing)",
            err=True,
        )


def _export_confirmed(case_name: str, format_name: str, out: Path | None) -> None:
    """``--confirmed``: the media the review confirmed, in any hash-set format."""
    from vigil.hashsets.formats import get_format
    from vigil.review.export import write_confirmed
    from vigil.review.service import ReviewSession

    with open_case("export", case_name) as (cases, case):
        try:
            get_format(format_name)
        except VigilError as exc:
            typer.echo(f"vigil export: {exc}", err=True)
            raise typer.Exit(2) from None
        session = ReviewSession(cases.store, case.name, analyse=False)

        def produce(handle: IO[bytes]) -> int:
            return write_confirmed(session, format_name, handle)

        if out is None:
            count = produce(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            count = _atomic(out, produce)
    typer.echo(f"vigil export: {count} confirmed media records ({format_name})", err=True)


def _atomic(path: Path, produce: Callable[[IO[bytes]], int]) -> int:
    """Write through a temporary file in the same folder, then rename: never half-written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path) as handle:
            count = produce(handle)
    except OSError as exc:
        typer.echo(f"vigil export: cannot write in {path.parent}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    return int(count)
