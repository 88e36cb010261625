"""The report's leads section: from the stored analysis, offline, never analysing by itself."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import vigil
from tests.review.conftest import Reviewed


def test_report_shows_the_leads_of_an_analysed_case(reviewed: Reviewed, tmp_path: Path) -> None:
    before = vigil("report", "c1", "--out", str(tmp_path / "before"), home=reviewed.home)
    assert before.returncode == 0, before.stderr
    html = (tmp_path / "before" / "report.html").read_text()
    assert "was not analysed for leads" in html
    assert "review.analyse" not in vigil("audit", "c1", home=reviewed.home).stdout

    assert vigil("leads", "c1", home=reviewed.home).returncode == 0  # analyses the case
    assert (
        vigil("report", "c1", "--out", str(tmp_path / "after"), home=reviewed.home).returncode == 0
    )
    html = (tmp_path / "after" / "report.html").read_text()
    section = html[html.index('id="leads"') : html.index('id="errors"')]
    assert "Vigilcam T1 #SN-0001" in section and str(reviewed.files["b"]) in section
    assert section.count("<circle") == 2 and 'class="scatter"' in section
    assert "2021-07-04T12:30:00" in section
    assert "Embedded EXIF thumbnails that matched (1)" in section
    assert "http://" not in section.replace("http://www.w3.org/2000/svg", "")
