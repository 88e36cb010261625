"""The case report opens in a real headless browser with its charts, fetching nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, scan_example, vigil

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    home = root / "home"
    scan_example(home, examiner="A. Examiner")
    made = vigil("report", "demo", "--out", str(root / "out"), "--pdf", "--thumbnails", home=home)
    assert made.returncode == 0, made.stderr
    return root / "out"


def test_report_in_a_browser(report: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (./dev installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((report / "report.html").as_uri())
        assert page.title() == "Vigil case report: demo"
        charts = page.locator("svg.chart")
        assert charts.count() == 4
        assert charts.first.bounding_box()["height"] > 30  # rendered, not empty
        assert page.locator("#matched tr").count() == 1 + 8  # header + one row per finding
        assert "A. Examiner" in page.locator("#case").evaluate(
            "e => e.nextElementSibling.innerText"
        )
        stats = page.locator("#stats").inner_text()
        assert "matched items\t4" in stats and "errors: items not examined\t1" in stats
        thumbs = page.locator("img.thumb")
        assert thumbs.count() == 4  # the four matched pictures on disk
        assert "grayscale" in thumbs.first.evaluate("e => getComputedStyle(e).filter")
        browser.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


def test_pdf_and_no_pictures_by_default(report: Path, tmp_path: Path) -> None:
    assert (report / "report.pdf").read_bytes().startswith(b"%PDF-")
    html = (report / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    home = tmp_path / "home"
    vigil("scan", str(EXAMPLES / "evidence"), "--case", "plain", home=home)
    assert vigil("report", "plain", "--out", str(tmp_path / "out"), home=home).returncode == 0
    plain = (tmp_path / "out" / "report.html").read_text()
    assert "<img" not in plain and "No item matched a hash set." in plain


def test_unknown_case_and_unwritable_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert vigil("report", "nope", home=home).returncode == 2
    vigil("scan", str(EXAMPLES / "evidence" / "holiday"), "--case", "c", home=home)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    result = vigil("report", "c", "--out", str(blocked), home=home)
    assert result.returncode == 1 and "cannot write" in result.stderr
