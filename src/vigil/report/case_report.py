"""The use case behind ``vigil report``: write the case report and record that it was written."""

from __future__ import annotations

from pathlib import Path

from vigil.report.html import write_report
from vigil.services.cases import Case, CaseService


def report_case(
    cases: CaseService,
    case: Case,
    out: Path,
    *,
    pdf: bool = False,
    thumbnails: bool = False,
    actor: str | None = None,
) -> list[Path]:
    """Write ``report.html`` (and ``.pdf``) into ``out``; the case's audit log records it.

    An OSError (an unwritable folder) goes up to the caller and nothing is recorded.
    """
    cases.sign_head(case, "report", actor)  # with a signing key: the report prints it
    written = write_report(cases, case, out, pdf=pdf, thumbnails=thumbnails)
    details = {"files": [str(p) for p in written], "thumbnails": thumbnails}
    cases.record(case, "report", details, actor)
    return written
