"""Vigil's VICS read the way the receivers read it: IPED's hash-database importer.

``iped_read`` below is written from what IPED's ``HashDBTool`` is documented (issue 21,
from sepinf-inc/IPED ``iped-engine/.../hashdb/HashDBTool.java``) to accept of a Project
VIC JSON file; it is a statement of those facts, not IPED's code:

- the header is exactly the 1.3 ``odata.metadata``
  ``http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media`` or the 2.0
  ``@odata.context`` ``http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media``;
  anything else is "Unknown ProjectVic JSON data model";
- records are the objects of the top-level ``value`` array (a Case record's nested
  ``Media[]`` is never read: 0 records);
- field names as written: ``MediaID``, ``Category`` (an integer), ``MD5``, ``SHA1``,
  ``Tags``;
- ``Tags`` is a string, tags separated by ``|``; an array aborts the parse;
- a record without a ``Category`` (or without a ``MediaID``) is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import EXAMPLES, scan_example, vigil
from tests.hashsets import samples

IPED_1_3 = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
IPED_2_0 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


class RefusedError(Exception):
    """IPED would stop reading the file."""


def iped_read(path: Path) -> list[dict[str, Any]]:
    """The records IPED's importer takes from ``path``: md5, sha1, category, tags."""
    data = json.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    if "odata.metadata" in data:
        known = data["odata.metadata"] == IPED_1_3
    else:
        known = data.get("@odata.context") == IPED_2_0
    if not known:
        raise RefusedError("Unknown ProjectVic JSON data model")
    records = []
    for media in data.get("value", []):
        tags = media.get("Tags")
        if tags is not None and not isinstance(tags, str):
            raise RefusedError(f"Tags is not a string: {tags!r}")
        category = media.get("Category")
        if category is None or media.get("MediaID") is None:
            continue
        if not isinstance(category, int) or isinstance(category, bool):
            raise RefusedError(f"Category is not an integer: {category!r}")
        records.append(
            {
                "md5": (media.get("MD5") or "").lower() or None,
                "sha1": (media.get("SHA1") or "").lower() or None,
                "category": category,
                "tags": [t for t in tags.split("|") if t] if tags else [],
            }
        )
    return records


@pytest.fixture(scope="module")
def case_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("receivers") / "home"
    scan_example(home)
    return home


def _results(home: Path) -> list[dict[str, Any]]:
    out = vigil("results", "demo", home=home).stdout.splitlines()
    return [json.loads(line) for line in out]


def _expected(home: Path) -> dict[str, int]:
    """MD5 -> VICS US category of every distinct matched media item of the example case."""
    expected: dict[str, int] = {}
    for r in _results(home):
        categories = [m["category"] for m in r["matches"] if m.get("category") is not None]
        if r["error"] is None and categories:
            expected.setdefault(r["md5"], int(categories[0]))
    return expected


def test_example_case_export_is_read_whole(case_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "matched.json"
    made = vigil("export", "demo", "--matched-only", "--out", str(out), home=case_home)
    assert made.returncode == 0, made.stderr
    records = iped_read(out)
    expected = _expected(case_home)
    assert len(expected) == 3
    assert {r["md5"]: r["category"] for r in records} == expected
    assert all(r["sha1"] for r in records) and len(records) == len(expected)


def test_uncategorised_media_are_the_ones_iped_skips(case_home: Path, tmp_path: Path) -> None:
    """The full export writes every media item; IPED reads exactly the categorised ones."""
    out = tmp_path / "all.json"
    made = vigil("export", "demo", "--out", str(out), home=case_home)
    # 6 media files and members, and 5 pictures in the example disk image (drive/usb.E01)
    assert made.returncode == 0 and "8 of 11 records have no category" in made.stderr
    written = json.loads(out.read_text())["value"]
    assert len(written) == 11 and [m["MediaID"] for m in written] == list(range(1, 12))
    read = {r["md5"]: r["category"] for r in iped_read(out)}
    assert read == _expected(case_home)
    assert {m["MD5"].lower() for m in written if "Category" not in m}.isdisjoint(read)


def test_case_shape_is_what_iped_cannot_read(case_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.json"
    vigil("export", "demo", "--vics-shape", "case", "--out", str(out), home=case_home)
    with pytest.raises(RefusedError, match="Unknown ProjectVic JSON data model"):
        iped_read(out)


def test_example_hash_set_exports_are_read_whole(case_home: Path, tmp_path: Path) -> None:
    """The example list (a US-profile file) exported as VICS 2.0 and 1.3."""
    source = json.loads((EXAMPLES / "hashsets" / "example-vics.json").read_text())
    expected = {m["MD5"].lower(): m["Category"] for m in source["value"]}
    for fmt in ("vics", "vics1"):
        out = tmp_path / f"ex.{fmt}.json"
        made = vigil("hashset", "export", "EX", "--format", fmt, "--out", str(out), home=case_home)
        assert made.returncode == 0, made.stderr
        records = iped_read(out)
        assert {r["md5"]: r["category"] for r in records} == expected
        assert records[0]["tags"] == ["example"]


def test_tags_travel_as_one_pipe_separated_string(tmp_path: Path) -> None:
    data = json.loads(json.dumps(samples.VICS_2_MEDIA))
    data["value"][1]["Tags"] = "first|second| third |"
    source = samples.write_json(tmp_path / "tags.json", data)
    home = tmp_path / "home"
    assert vigil("hashset", "import", str(source), "--name", "T", home=home).returncode == 0
    for fmt in ("vics", "vics1"):
        out = tmp_path / f"t.{fmt}.json"
        made = vigil("hashset", "export", "T", "--format", fmt, "--out", str(out), home=home)
        assert made.returncode == 0, made.stderr
        written = json.loads(out.read_text())["value"]
        assert written[0]["Tags"] == "a|b"  # the list ["a", "b"] of the source
        assert written[1]["Tags"] == "first|second|third"  # split on import, trimmed
        assert "Tags" not in written[2]
        by_md5 = {r["md5"]: r["tags"] for r in iped_read(out)}
        assert by_md5[samples.MD5[0]] == ["a", "b"]
        assert by_md5[samples.MD5[1]] == ["first", "second", "third"]


INDUSTRY_LIST = {
    "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media",
    "value": [
        {"MediaID": 1, "Category": "A1", "MD5": samples.MD5[0].upper()},
        {"MediaID": 2, "Category": "B2", "MD5": samples.MD5[1].upper()},
        {"MediaID": 3, "SHA1": samples.SHA1[0].upper()},
    ],
}


def test_ncmec_industry_lists_import_and_export(tmp_path: Path) -> None:
    """A list carrying A1/A2/B1/B2 gets the ncmec-industry profile and gives it back."""
    home = tmp_path / "home"
    source = samples.write_json(tmp_path / "industry.json", INDUSTRY_LIST)
    made = vigil("hashset", "import", str(source), "--name", "IND", home=home)
    assert made.returncode == 0, made.stderr
    assert "profile ncmec-industry" in made.stdout + made.stderr
    lookup = vigil("hashset", "lookup", "--json", f"md5:{samples.MD5[0]}", home=home)
    (hit,) = [json.loads(line) for line in lookup.stdout.splitlines()]
    assert (hit["category"], hit["category_profile"]) == ("A1", "ncmec-industry")
    out = tmp_path / "out.json"
    exported = vigil("hashset", "export", "IND", "--format", "vics", "--out", str(out), home=home)
    assert exported.returncode == 0, exported.stderr
    written = json.loads(out.read_text())
    assert written["@odata.context"].endswith("/2.0.xml/CUSTOM/$metadata#Media")
    assert [m.get("Category") for m in written["value"]] == ["A1", "B2", None]
    again = vigil("hashset", "import", str(out), "--name", "IND2", home=home)
    assert again.returncode == 0 and "profile ncmec-industry" in again.stdout + again.stderr


def test_an_industry_grade_is_never_read_as_another_profile(tmp_path: Path) -> None:
    """A list mixing an industry grade with a VICS US code is refused, not half-read."""
    data = json.loads(json.dumps(INDUSTRY_LIST))
    data["value"][2]["Category"] = 1
    source = samples.write_json(tmp_path / "mixed.json", data)
    made = vigil("hashset", "import", str(source), "--name", "MIX", home=tmp_path / "home")
    assert made.returncode == 1
    assert "not a code of profile ncmec-industry" in made.stderr
