"""ICSE flags and PhotoDNA values: from an ICSE export to ``hashset show``, ``match``, the scan.

The evidence is a generated picture; the ICSE export naming it is written here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from tests.hashsets.helpers import rewrite
from vigil.cli.main import cli
from vigil.hashsets.model import Entry
from vigil.scan.case_scan import ScanRequest, scan_case
from vigil.services.cases import CaseService
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.store import open_store
from vigil.store.hashsets import entry_flags

HEADER = (
    "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
    "Series name;Number of submissions;File Available;Media Type;Baseline"
)
#: Opaque, as a list gives it: Vigil keeps it byte for byte and never computes one.
PHOTODNA = "AAEC/w==,12,0,255,7 x+/="


@pytest.fixture
def evidence(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A folder with one generated picture, and an ICSE export naming it and another."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(folder / "blue.png")
    known = hashlib.md5((folder / "blue.png").read_bytes()).hexdigest()
    other = hashlib.md5(b"another generated item").hexdigest()
    third = hashlib.md5(b"a third").hexdigest()
    export = tmp_path / "icse.csv"
    export.write_text(
        f"{HEADER}\n"
        f"{known.upper()};;{PHOTODNA};17;true;Yes;n;Alpha;3;1;Image;1\n"
        f"{other};;;18;false;no;;Alpha;1;;Image;0\n"
        f"{third};;;19;;;;Beta;;;Video;\n"
    )
    return folder, export, known, other


def test_flags_in_show_match_and_scan(
    store_url: str, evidence: tuple[Path, Path, str, str]
) -> None:
    folder, export, known, other = evidence
    with open_store(store_url) as store:
        HashSets(store).import_file(export, name="ICSE")
        assert HashSets(store).flag_counts("ICSE") == {
            "victim_identified": {"yes": 1, "no": 1},
            "offender_identified": {"no": 1},
            "distributed": {"yes": 1, "no": 1},
            "baseline": {"yes": 1, "no": 1},
            "series": {"entries": 3, "names": 2},
        }
        # the one matcher: flags and PhotoDNA on the finding, in both serialisations
        (hit,) = Matcher(open_snapshot(store), store).match(Query(md5=known))
        assert hit.flags == {
            "victim_identified": True,
            "offender_identified": False,
            "distributed": True,
            "baseline": True,
            "series": "Alpha",
        }
        assert hit.photodna == PHOTODNA
        assert hit.to_json()["flags"] == hit.flags and hit.to_json()["photodna"] == PHOTODNA
        assert hit.to_api()["flags"] == hit.flags and hit.to_api()["photodna"] == PHOTODNA
        (plain,) = Matcher(open_snapshot(store), store).match(Query(md5=other))
        assert plain.photodna is None and "photodna" not in plain.to_api()
        # the scan's findings carry them too
        scan_case(store, ScanRequest(roots=[folder], case="flags", jobs=1))
        cases = CaseService(store)
        (item,) = list(cases.items(cases.require("flags")))
        (finding,) = item.matches
        assert finding["flags"] == hit.flags and finding["photodna"] == PHOTODNA

    runner = CliRunner()
    shown = runner.invoke(cli(), ["hashset", "show", "ICSE", "--json"], catch_exceptions=False)
    assert json.loads(shown.output)["flags"]["victim_identified"] == {"yes": 1, "no": 1}
    text = runner.invoke(cli(), ["hashset", "show", "ICSE"], catch_exceptions=False).output
    assert "flags:" in text and "victim identified  yes 1, no 1" in text
    matched = runner.invoke(cli(), ["match", "--hash", f"md5:{known}", "--json"])
    (row,) = [json.loads(line) for line in matched.output.splitlines()]
    assert row["matches"][0]["flags"]["series"] == "Alpha"
    assert row["matches"][0]["photodna"] == PHOTODNA
    table = runner.invoke(cli(), ["match", "--hash", f"md5:{known}"]).output
    assert "victim identified" in table and "offender identified: no" in table


def test_flags_survive_a_merge_and_an_export(store_url: str, tmp_path: Path) -> None:
    md5 = hashlib.md5(b"merged").hexdigest()
    first = tmp_path / "first.csv"
    first.write_text(f"{HEADER}\n{md5};;{PHOTODNA};1;false;no;no;S;1;1;Image;0\n")
    later = tmp_path / "later.csv"
    later.write_text(f"{HEADER}\n{md5};;;1;;yes;;;2;;;\n")  # the victim is now identified
    with open_store(store_url) as store:
        sets = HashSets(store)
        sets.import_file(first, name="ICSE")
        assert sets.import_file(later, name="ICSE", mode="merge").changes["updated"] == 1
        (hit,) = Matcher(open_snapshot(store), store).match(Query(md5=md5))
        assert hit.flags == {
            "victim_identified": True,  # updated
            "offender_identified": False,  # kept: the update does not say
            "distributed": False,
            "baseline": False,
            "series": "S",
        }
        assert hit.photodna == PHOTODNA
        out = tmp_path / "again.csv"
        sets.export("ICSE", "icse", out)
    assert out.read_text().splitlines()[1].split(";")[2:6] == [PHOTODNA, "1", "false", "true"]


def test_entry_flags_reads_both_spellings() -> None:
    vics_1 = Entry(md5="0" * 32, victim_identified=True, extra={"OffenderIdentified": "false"})
    assert entry_flags(vics_1.metadata()) == {
        "victim_identified": True,
        "offender_identified": False,
    }
    assert entry_flags({"extra": {"Baseline": "TRUE"}, "series": "X"}) == {
        "baseline": True,
        "series": "X",
    }
    assert entry_flags({"file_names": ["a.jpg"]}) == {}


def test_vics_flags_show_too(store_url: str, tmp_path: Path) -> None:
    entry = Entry(md5="1" * 32, is_distributed=True, series="Z", extra={"OffenderIdentified": True})
    path = rewrite("vics", [entry], tmp_path / "v.json")
    with open_store(store_url) as store:
        HashSets(store).import_file(path, name="V")
        assert HashSets(store).flag_counts("V") == {
            "offender_identified": {"yes": 1},
            "distributed": {"yes": 1},
            "series": {"entries": 1, "names": 1},
        }
