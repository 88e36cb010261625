"""Scan, match and the service give the same findings for the same inputs.

One matcher (``vigil.services.matcher``) serves all three; before it, ``vigil scan`` and
``vigil match`` still alerted on entries a curator had disabled while the service did
not. The test builds one store (on each backend) with an exact entry, a PDQ entry and
two disabled entries, then asks the three ways about the same files.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.cli_runner import vigil
from tests.stores import store_url  # noqa: F401  (fixture)
from tests.web.server import Server, make_keys
from vigil.hashsets.model import Entry, HashSetInfo
from vigil.scan.case_scan import ScanRequest, scan_case
from vigil.services.cases import CaseService
from vigil.services.hashsets import delete_set
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.signals.filehash import HashOptions, hash_file
from vigil.store import open_store
from vigil.store.curation import Curation

Key = tuple[str, int, str, int]


def _keys(matches: list[dict]) -> set[Key]:  # type: ignore[type-arg]
    return {(m["hashset"], m["entry"], m["signal_type"], m["distance"]) for m in matches}


def _name(path: str, folder: Path) -> str:
    return path.removeprefix(str(folder) + "/")


@pytest.fixture
def evidence(tmp_path: Path, pdq_fixtures: Path) -> tuple[Path, list[Entry]]:
    """Three benign pictures and the set that knows them (two of its entries disabled)."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    bridge = pdq_fixtures / "bridge-mods" / "aaa-orig.jpg"
    Image.open(bridge).convert("RGB").save(folder / "bridge-copy.jpg", quality=40)
    shutil.copy(pdq_fixtures / "misc-images" / "c.png", folder / "drawing.png")
    Image.new("RGB", (64, 48), (200, 30, 90)).save(folder / "plain.png")
    Image.linear_gradient("L").convert("RGB").save(folder / "silenced.png")
    with zipfile.ZipFile(folder / "parcel.zip", "w") as parcel:  # scan and match open it
        parcel.write(folder / "drawing.png", "inner/drawing.png")
    original = hash_file(bridge, HashOptions(mode="exact"))
    drawing = hash_file(folder / "drawing.png", HashOptions())
    silenced = hash_file(folder / "silenced.png", HashOptions())
    entries = [
        Entry(pdq=original.pdq, category="1"),  # 0: a near copy of it is in the evidence
        Entry(md5=drawing.md5, category="2"),  # 1: an exact copy is in the evidence
        Entry(md5=silenced.md5, category="1"),  # 2: disabled by a curator
        Entry(sha256=silenced.sha256, category="1"),  # 3: disabled until far ahead
    ]
    return folder, entries


def test_scan_match_and_service_agree(
    evidence: tuple[Path, list[Entry]],
    store_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder, entries = evidence
    home = tmp_path / "home"
    with open_store(store_url) as store:
        store.hashsets.replace(HashSetInfo(name="KNOWN"), entries)
        curation = Curation(store.db)
        curation.set_disabled("KNOWN", 2, True)
        curation.set_disabled("KNOWN", 3, True, until=4_102_444_800.0)  # 2100-01-01
        scan_case(store, ScanRequest(roots=[folder], case="agree", jobs=1))
        case = CaseService(store).require("agree")
        scanned = {_name(i.path, folder): _keys(i.matches) for i in CaseService(store).items(case)}

    matched = vigil("match", "--json", str(folder), home=home, database_url=store_url)
    assert matched.returncode == 0, matched.stderr
    by_cli = {
        _name(r["path"], folder): _keys(r["matches"])
        for r in map(json.loads, matched.stdout.split("\n")[:-1])
    }

    keys = make_keys(store_url)
    served: dict[str, set[Key]] = {}
    with Server(store_url, home) as server:
        for picture in sorted(p for p in folder.iterdir() if p.suffix != ".zip"):
            answer = httpx.post(
                f"{server.base}/v1/match",
                headers={"Authorization": f"Bearer {keys['matcher']}"},
                files={"file": (picture.name, picture.read_bytes())},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            served[picture.name] = _keys(answer.json()["matches"])

    expected = {
        "parcel.zip": set(),
        "parcel.zip!/inner/drawing.png": {"md5"},
        "bridge-copy.jpg": {"pdq"},
        "drawing.png": {"md5"},
        "plain.png": set(),
        "silenced.png": set(),  # its entries are disabled: no finding anywhere
    }
    assert {n: {k[2] for k in found} for n, found in scanned.items()} == expected
    assert scanned == by_cli
    assert served == {n: f for n, f in scanned.items() if "parcel.zip" not in n}


def test_deleted_set_leaves_no_disabled_marks_for_the_next(store_url: str) -> None:  # noqa: F811
    """Disable entry 0 of A, delete A, create B: B's entry 0 matches (ids never reused)."""
    md5_a, md5_b = "a" * 32, "b" * 32
    with open_store(store_url) as store:
        curation = Curation(store.db)
        first = curation.create_set("A")
        curation.add_entry("A", {"md5": md5_a})
        curation.set_disabled("A", 0, True)
        assert delete_set(store, "A")
        second = curation.create_set("B")
        curation.add_entry("B", {"md5": md5_b})
        assert second.id != first.id
        snapshot = open_snapshot(store)
        (finding,) = Matcher(snapshot, store).match(Query(md5=md5_b))
        assert (finding.hashset, finding.entry) == ("B", 0)
