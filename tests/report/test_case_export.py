"""A case's media exported as VICS 2.0 (hash-set or Case shape) imports back the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import scan_example, vigil


@pytest.fixture(scope="module")
def case_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("export") / "home"
    scan_example(home, examiner="A. Examiner")
    return home


def test_vics_export_round_trips(case_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    assert vigil("export", "demo", "--out", str(out), home=case_home).returncode == 0
    document = json.loads(out.read_text())
    # The hash-set shape, which every receiver reads (tests/hashsets/test_vics_receivers.py)
    assert document["@odata.context"].endswith("/2.0.xml/Default/$metadata#Media")
    assert all(isinstance(m["MediaID"], int) for m in document["value"])
    exported = {m["MD5"].lower(): m for m in document["value"]}
    results = [json.loads(x) for x in vigil("results", "demo", home=case_home).stdout.splitlines()]
    media = {
        r["md5"]: r
        for r in results
        if r["type"].startswith(("image/", "video/")) and not r["error"]
    }
    assert set(exported) == set(media)
    assert exported[media_md5(results, "beach.jpg")]["Category"] == 1
    assert "Category" not in exported[media_md5(results, "harbour.gif")]
    back = vigil("hashset", "import", str(out), "--name", "BACK", home=case_home)
    assert back.returncode == 0, back.stderr
    lookup = vigil("hashset", "lookup", "--json", *[f"md5:{h}" for h in media], home=case_home)
    found = {
        json.loads(x)["hash"] for x in lookup.stdout.splitlines() if json.loads(x)["set"] == "BACK"
    }
    assert found == set(media)


def test_vics_case_shape_on_request(case_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.json"
    made = vigil("export", "demo", "--vics-shape", "case", "--out", str(out), home=case_home)
    assert made.returncode == 0, made.stderr
    document = json.loads(out.read_text())
    assert document["@odata.context"].endswith("/2.0.xml/Default/$metadata#Cases")
    (case,) = document["value"]
    assert case["CaseNumber"] == "demo" and case["ContactName"] == "A. Examiner"
    # 6 media files and members, and 5 pictures in the example disk image (drive/usb.E01)
    assert len(case["Media"]) == 11 and all("MediaID" in m for m in case["Media"])
    back = vigil("hashset", "import", str(out), "--name", "CASEBACK", home=case_home)
    assert back.returncode == 0 and "imported 11 entries" in back.stdout + back.stderr


def test_uncategorised_records_are_counted_in_a_warning(case_home: Path) -> None:
    full = vigil("export", "demo", home=case_home)
    assert "8 of 11 records have no category in profile vics-us" in full.stderr
    matched = vigil("export", "demo", "--matched-only", home=case_home)
    assert matched.returncode == 0 and "warning" not in matched.stderr


def media_md5(results: list[dict], name: str) -> str:
    return next(r["md5"] for r in results if r["path"].endswith(name))


def test_category_filter_and_csv(case_home: Path) -> None:
    only = vigil("export", "demo", "--categories", "2", home=case_home)
    assert [m["Category"] for m in json.loads(only.stdout)["value"]] == [2]
    csv_out = vigil("export", "demo", "--format", "csv", "--matched-only", home=case_home)
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "md5,sha1,sha256,pdq,category,size,type,paths" and len(lines) == 4


def test_unknown_case(case_home: Path) -> None:
    result = vigil("export", "nope", home=case_home)
    assert result.returncode == 2 and "no case named 'nope'" in result.stderr
