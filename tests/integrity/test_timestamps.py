"""Finding 5: timestamps outside the calendar never crash a writer; they are shown raw.

A tar member with ``mtime = -10**12`` (GNU base-256) scans fine; the report, the VICS
and CSV exports and the referral used to crash on it with "year ... is out of range".
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli_runner import vigil
from tests.integrity.helpers import home_with_set, known_picture
from tests.integrity.hostile import tar_with_mtime
from vigil.records import ScanItem

FACTS = """
[incident]
type = "Child Pornography (possession, manufacture, and distribution)"
date = "2026-11-20T10:00:00Z"
[reporter]
name = "Ada Examiner"
email = "ada@example.org"
"""


def test_an_extreme_tar_time_goes_through_every_output(tmp_path: Path) -> None:
    picture = known_picture()
    home = home_with_set(tmp_path, picture)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    tar_with_mtime(evidence / "old.tar", "pic.jpg", picture, -(10**12))
    assert vigil("scan", str(evidence), "--case", "c", home=home).returncode == 0
    assert vigil("keys", "generate", home=home).returncode == 0

    report = vigil("report", "c", "--out", str(tmp_path / "report"), home=home)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report" / "report.html").read_text()
    assert "-1000000000000 (raw timestamp" in html

    vics = vigil("export", "c", "--format", "vics", "--out", str(tmp_path / "c.json"), home=home)
    assert vics.returncode == 0, vics.stderr
    (media,) = json.loads((tmp_path / "c.json").read_text())["value"]
    (place,) = media["MediaFiles"]
    assert "Written" not in place and place["WrittenRaw"] == "-1000000000000"

    exported = vigil("export", "c", "--format", "csv", home=home)
    assert exported.returncode == 0, exported.stderr

    (tmp_path / "facts.toml").write_text(FACTS)
    refer = vigil("refer", "c", "--to", "Partner", "--out", str(tmp_path / "p.zip"),
                  "--facts", str(tmp_path / "facts.toml"), home=home)  # fmt: skip
    assert refer.returncode == 0, refer.stderr
    with zipfile.ZipFile(tmp_path / "p.zip") as package:
        assert b"-1000000000000" in package.read("case.vics.json")


extreme = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70).map(float),
    st.sampled_from([-(10**12), 253402300800.0, -62135596801.0, 0.0, 1e300, -1e300]),
    st.none(),
)


@settings(max_examples=150, deadline=None)
@given(extreme, extreme, extreme)
def test_no_writer_crashes_on_any_time(
    mtime: float | None, ctime: float | None, atime: float | None
) -> None:
    from vigil.refer.referral import build_referral
    from vigil.report.case_export import case_media, write_csv, write_vics
    from vigil.report.charts import timeline
    from vigil.report.html import MatchedRow, render_html
    from vigil.report.when import shown
    from vigil.services.cases import Case

    item = ScanItem(path="/ev/a.tar!/p.jpg", source="/ev/a.tar", type="image/jpeg", size=3,
                    mtime=mtime, ctime=ctime, atime=atime, md5="0" * 32, sha1="0" * 40,
                    sha256="0" * 64,
                    matches=[{"hashset": "K", "signal_type": "md5", "category": "1"}])  # fmt: skip
    case = Case(1, "c", "2026-11-30", None, None, {})
    media = case_media([item])
    out = io.BytesIO()
    write_vics(media, case, out)
    json.loads(out.getvalue())
    out = io.BytesIO()
    write_csv(media, out)
    list(csv.reader(io.StringIO(out.getvalue().decode())))
    json.dumps(build_referral(case, media, {}, "x", include_media=False), default=str)
    timeline("t", [mtime, ctime, atime])
    text = shown(mtime)
    if mtime is not None and (not math.isfinite(mtime) or abs(mtime) > 2.6e11):
        assert "raw timestamp" in text
    render_html(_context(case, MatchedRow(item, item.matches, text)))


def _context(case, row) -> dict:  # type: ignore[no-untyped-def]
    return {"case": case, "version": "x", "generated": "now", "evidence": [], "settings": {},
            "stats": [], "charts": "", "matched": [row], "duplicates": [], "errors": [],
            "thumbnails": False, "audit": [], "audit_head": "0", "audit_ok": True,
            "signed_head": None}  # fmt: skip
