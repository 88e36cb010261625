"""Finding 8: names cannot spoof what an examiner reads; CSV cells cannot be formulas.

A right-to-left override (U+202E) makes ``\\u202egpj.exe`` read as ``exe.jpg``. Such
characters (bidi controls, other control and invisible characters) are shown escaped
and visible in the HTML report and in every CSV, and the item's notes flag them. CSV
cells that start with ``= + - @`` or a tab are neutralised explicitly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.cli_runner import vigil
from tests.integrity.helpers import home_with_set, known_picture

SPOOF = "\u202egpj.exe"


def test_a_bidi_name_is_shown_escaped_and_flagged(tmp_path: Path) -> None:
    picture = known_picture()
    home = home_with_set(tmp_path, picture)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / SPOOF).write_bytes(picture)
    (evidence / "tab\there.txt").write_text("x")
    assert vigil("scan", str(evidence), "--case", "c", home=home).returncode == 0
    listed = vigil("results", "c", home=home).stdout.splitlines()
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, listed)}
    assert rows[SPOOF]["matches"]
    assert vigil("report", "c", "--out", str(tmp_path / "r"), home=home).returncode == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "\u202e" not in html and "\\u202egpj.exe" in html
    for args in (["results", "c", "--format", "csv"], ["export", "c", "--format", "csv"]):
        out = vigil(*args, home=home)
        assert out.returncode == 0, out.stderr
        assert "\u202e" not in out.stdout and "\\u202e" in out.stdout, args
    assert "\t" not in vigil("results", "c", "--format", "csv", home=home).stdout


def test_the_notes_flag_the_name(tmp_path: Path) -> None:
    from vigil.media.sources.folder import FolderSource

    (tmp_path / SPOOF).write_bytes(b"x")
    (item,) = FolderSource([tmp_path]).walk()
    assert any("U+202E" in note for note in item.notes), item.notes


def test_csv_cells_that_could_be_formulas_are_neutralised() -> None:
    from vigil.report.case_export import csv_cell

    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_cell(text).startswith("'"), text
    assert csv_cell("/ev/a.jpg") == "/ev/a.jpg" and csv_cell(None) == "" and csv_cell(3) == 3


@given(st.text())
def test_no_csv_cell_starts_a_formula_or_holds_a_control(text: str) -> None:
    from vigil.report.case_export import csv_cell

    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert not any(
        ord(c) < 32 or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in cell
    )
    rows = list(csv.reader(io.StringIO(_written(cell))))
    assert rows == [[cell]]


def _written(cell: str) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    return out.getvalue()
