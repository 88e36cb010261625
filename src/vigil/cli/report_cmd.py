"""``vigil report CASE [--out DIR] [--pdf] [--thumbnails]``: the examiner's case report.

Exit codes: 0 written, 1 when it could not be written, 2 for an unknown case.
"""

from __future__ import annotations

from pathlib import Path

import typer

from vigil.cli.common import fail, open_case
from vigil.report.case_report import report_case


def report_command(
    case_name: str = typer.Argument(..., help="The case."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for report.html (.pdf)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (WeasyPrint)."),
    thumbnails: bool = typer.Option(
        False, "--thumbnails", help="Add blurred, greyed thumbnails of matched images."
    ),
) -> None:
    """Write a self-contained HTML report of the case (nothing fetched from the network)."""
    with open_case("report", case_name) as (cases, case):
        try:
            written = report_case(cases, case, out, pdf=pdf, thumbnails=thumbnails)
        except OSError as exc:
            fail("report", f"cannot write in {out}: {exc.strerror}", 1)
    for path in written:
        typer.echo(str(path))
