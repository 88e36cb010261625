"""``vigil report CASE [--out DIR] [--pdf] [--thumbnails]``: the examiner's case report.

Exit codes: 0 written, 1 when it could not be written, 2 for an unknown case.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from vigil.errors import VigilError
from vigil.report.html import write_report
from vigil.store import open_store
from vigil.store.cases import UnknownCaseError


def report_command(
    case_name: str = typer.Argument(..., help="The case."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for report.html (.pdf)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (WeasyPrint)."),
    thumbnails: bool = typer.Option(
        False, "--thumbnails", help="Add blurred, greyed thumbnails of matched images."
    ),
) -> None:
    """Write a self-contained HTML report of the case (nothing fetched from the network)."""
    try:
        with open_store() as store:
            case = store.cases.require(case_name)
            written = write_report(store, case, out, pdf=pdf, thumbnails=thumbnails)
            store.cases.audit(
                case,
                getpass.getuser(),
                "report",
                {"files": [str(p) for p in written], "thumbnails": thumbnails},
            )
    except UnknownCaseError as exc:
        typer.echo(f"vigil report: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"vigil report: cannot write in {out}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except VigilError as exc:
        typer.echo(f"vigil report: {exc}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(str(path))
