"""A referral package's CyberTipline documents, end to end, with an NCMEC-graded list.

The example evidence is scanned against the example list (VICS US) and a benign list
that grades one of its pictures A2 in the NCMEC industry classification. The
referral's category stays the export profile's, the fileDetails' industry
classification comes from the industry list only, and each fileDetails is a template
that the agency completes with the ids the API answers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from tests.cli_runner import scan_example, vigil
from tests.hashsets import samples
from tests.refer.test_cybertip import FILE_FACTS, facts
from vigil.refer.cybertip import complete_file_details

BEACH_MD5 = "ac26156ccc1aa30390ef3dc20dd094b1"  # holiday/beach.jpg of the example evidence


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cybertip")
    home = root / "home"
    industry = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media",
        "value": [{"MediaID": 1, "Category": "A2", "MD5": BEACH_MD5.upper()}],
    }
    source = samples.write_json(root / "industry.json", industry)
    imported = vigil("hashset", "import", str(source), "--name", "NCMEC", home=home)
    assert imported.returncode == 0, imported.stderr
    scan_example(home)
    assert vigil("keys", "generate", home=home).returncode == 0
    return home


def test_industry_classification_in_file_details(home: Path, tmp_path: Path) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({**facts(), **FILE_FACTS}))
    out = tmp_path / "pkg.zip"
    made = vigil("refer", "demo", "--to", "NCMEC", "--out", str(out), "--facts", str(facts_file),
                 "--format", "cybertip-xml", home=home)  # fmt: skip
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(out) as z:
        referral = json.loads(z.read("referral.json"))
        details = {
            name: z.read(name) for name in z.namelist() if name.startswith("cybertip/fileDetails")
        }
        report = ET.fromstring(z.read("cybertip/report.xml"))
    assert report.findtext("personOrUserReported/screenName") == "example_user"
    files = {f["hashes"]["md5"]: f for f in referral["files"]}
    beach = files[BEACH_MD5]
    assert (beach["category"], beach["category_profile"]) == ("1", "vics-us")
    assert beach["industry_classification"] == "A2"
    assert all(f["industry_classification"] is None for m, f in files.items() if m != BEACH_MD5)
    assert len(details) == len(referral["files"]) == 3
    graded = []
    for document in details.values():
        root = ET.fromstring(document)
        assert root.find("reportId") is None and root.find("fileId") is None
        assert root.find("locationOfFile") is None and b"/work/" not in document
        assert root.findtext("fileViewedByEsp") == "true"
        md5 = next(h.text for h in root.findall("originalFileHash") if h.get("hashType") == "MD5")
        if root.find("industryClassification") is not None:
            graded.append((md5, root.findtext("industryClassification")))
        completed = ET.fromstring(complete_file_details(document, 123, "f" * 32))
        assert [c.tag for c in completed][:2] == ["reportId", "fileId"]
    assert graded == [(BEACH_MD5, "A2")]


def test_facts_the_api_cannot_carry_are_refused(home: Path, tmp_path: Path) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts(incident={**facts()["incident"], "type": "Bogus"})))
    out = tmp_path / "bad.zip"
    made = vigil("refer", "demo", "--to", "NCMEC", "--out", str(out), "--facts", str(facts_file),
                 "--format", "cybertip-xml", home=home)  # fmt: skip
    assert made.returncode == 2
    assert "incidentType (facts: incident.type): 'Bogus' is not one of" in made.stderr
    assert not out.exists()
