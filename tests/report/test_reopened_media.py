"""Report thumbnails and referral media reach archive members and names that are not UTF-8.

Both re-open items through their locators (``vigil.media.sources``); they used to open
display paths of files on disk only, so these items had no thumbnail and no media.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.cli_runner import vigil
from tests.report.odd_case import PICTURES, odd_case


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return odd_case(tmp_path_factory.mktemp("odd"))


def test_thumbnails(home: Path, tmp_path: Path) -> None:
    made = vigil("report", "odd", "--out", str(tmp_path / "out"), "--thumbnails", home=home)
    assert made.returncode == 0, made.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count('<img class="thumb"') == len(PICTURES) == 3
    assert "caf\\xe9.png" in html and "deep.tar!/a.zip!/x.png" in html


def test_referral_media(home: Path, tmp_path: Path) -> None:
    assert vigil("keys", "generate", home=home).returncode == 0
    out = tmp_path / "odd.zip"
    made = vigil("refer", "odd", "--to", "P", "--out", str(out), "--include-media", home=home)
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(out) as z:
        media = [z.read(n) for n in z.namelist() if n.startswith("media/")]
        files = json.loads(z.read("referral.json"))["files"]
    assert sorted(media) == sorted(PICTURES.values())  # the very bytes, all three
    assert {f["location"].rsplit("/", 1)[-1] for f in files} == {"red.png", "x.png", "caf\\xe9.png"}
