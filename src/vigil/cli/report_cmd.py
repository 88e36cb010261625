"""``vigil report CASE [--out DIR] [--pdf] [--thumbnails]``: the examiner's case report.

Exit codes: 0 written, 1 when it could not be written, 2 for an unknown case.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from vigil.cli.common import fail, open_case
from vigil.report.html import write_report


def report_command(
    case_name: str = typer.Argument(..., help="The case."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for report.html (.pdf)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (WeasyPrint)."),
    thumbnails: bool = typer.Option(
        False, "--thumbnails", help="Add blurred, greyed thumbnails of matched images."
    ),
) -> None:
    """Write a self-contained HTML report of the case (nothing fetched from the network)."""
    with open_case("report", case_name) as (store, case):
        try:
            written = write_report(store, case, out, pdf=pdf, thumbnails=thumbnails)
        except OSError as exc:
            fail("report", f"cannot write in {out}: {exc.strerror}", 1)
        details = {"files": [str(p) for p in written], "thumbnails": thumbnails}
        store.cases.audit(case, getpass.getuser(), "report", details)
    for path in written:
        typer.echo(str(path))
