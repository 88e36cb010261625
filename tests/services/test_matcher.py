"""Matching files and bare hashes against hash sets, as ``vigil match`` does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.cli_runner import vigil
from tests.stores import store_url  # noqa: F401  (fixture)
from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.services.matcher import Matcher, MatchOptions, Query, open_snapshot
from vigil.store import open_store

rng = np.random.default_rng(9)


def flip_bits(value: str, bits: int) -> str:
    return f"{int(value, 16) ^ ((1 << bits) - 1):064x}"


def test_rules(store_url: str) -> None:  # noqa: F811
    h = rng.bytes(32).hex()
    md5 = rng.bytes(16).hex()
    with open_store(store_url) as store:
        store.hashsets.replace(
            HashSetInfo(name="ALERTS", kind=HashSetKind.alert, attributes={"pdq_threshold": 10}),
            [Entry(pdq=h, category="1"), Entry(md5=md5, category="2")],
        )
        store.hashsets.replace(HashSetInfo(name="NSRL", kind=HashSetKind.ignore), [Entry(md5=md5)])
        snap = open_snapshot(store)
        matcher = Matcher(snap, store)
        (hit,) = matcher.match(Query(pdq=flip_bits(h, 10), pdq_quality=90))
        assert (hit.hashset, hit.entry, hit.distance, hit.category) == ("ALERTS", 0, 10, "1")
        assert matcher.match(Query(pdq=flip_bits(h, 11))) == []  # the set's own threshold
        wide = Matcher(snap, store, options=MatchOptions(threshold=31))
        assert len(wide.match(Query(pdq=flip_bits(h, 31)))) == 1
        assert wide.match(Query(pdq=flip_bits(h, 32))) == []
        assert matcher.match(Query(pdq=h, pdq_quality=49)) == []  # too poor to match on
        kinds = {(f.hashset, f.kind) for f in matcher.match(Query(md5=md5))}
        assert kinds == {("ALERTS", "alert"), ("NSRL", "ignore")}
        only = Matcher(snap, store, snap.select(["NSRL"]))
        assert [f.hashset for f in only.match(Query(md5=md5, pdq=h))] == ["NSRL"]
        with pytest.raises(UnknownHashSetError, match="no hash set named 'NOPE'"):
            snap.select(["NOPE"])


# -- the command, on the shared fixture photos ---------------------------------------


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, pdq_fixtures: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    sources = {
        "bridge": pdq_fixtures / "bridge-mods" / "aaa-orig.jpg",
        "drawing": pdq_fixtures / "misc-images" / "c.png",
    }
    out: dict[str, Path] = {}
    for name, src in sources.items():
        image = Image.open(src).convert("RGB")
        out[f"{name}-original"] = src
        image.save(folder / f"{name}-reencoded.jpg", "JPEG", quality=35)
        image.resize((image.width // 2, image.height // 2)).save(folder / f"{name}-small.png")
        Image.fromarray(np.rot90(np.asarray(image))).save(
            folder / f"{name}-rotated.jpg", quality=90
        )
        for kind in ("reencoded", "small", "rotated"):
            suffix = "png" if kind == "small" else "jpg"
            out[f"{name}-{kind}"] = folder / f"{name}-{kind}.{suffix}"
    return out


def test_match_finds_modified_copies(photos: dict[str, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    originals = [str(p) for k, p in photos.items() if k.endswith("original")]
    listing = vigil("hash", "--format", "tx", "--mode", "exact", *originals, home=home)
    (tmp_path / "known.txt").write_text(listing.stdout)
    imported = vigil("hashset", "import", str(tmp_path / "known.txt"), "--name", "KNOWN", home=home)
    assert imported.returncode == 0, imported.stderr
    copies = [str(p) for k, p in photos.items() if not k.endswith("original")]

    plain = {
        Path(r["path"]).stem: r
        for r in map(json.loads, vigil("match", "--json", *copies, home=home).stdout.splitlines())
    }
    for name in ("bridge", "drawing"):
        for kind in ("reencoded", "small"):
            (m,) = plain[f"{name}-{kind}"]["matches"]
            assert m["hashset"] == "KNOWN" and m["signal_type"] == "pdq" and m["distance"] <= 31
        assert plain[f"{name}-rotated"]["matches"] == []

    result = vigil("match", "--json", "--dihedral", *copies, home=home)
    turned = {Path(r["path"]).stem: r for r in map(json.loads, result.stdout.splitlines())}
    for name in ("bridge", "drawing"):
        (m,) = turned[f"{name}-rotated"]["matches"]
        assert m["variant"] is not None and m["distance"] <= 31


def test_bare_hashes_and_bad_input(tmp_path: Path) -> None:
    home = tmp_path / "home"
    empty = vigil("match", "--json", "--hash", "md5:" + "a" * 32, home=home)
    assert empty.returncode == 0
    assert json.loads(empty.stdout)["matches"] == []  # an empty store: no match, no error
    bad = vigil("match", "--hash", "pdq:" + "z" * 64, home=home)
    assert bad.returncode == 2 and "non-hex character 'z'" in bad.stderr
    short = vigil("match", "--hash", "abc", home=home)
    assert short.returncode == 2 and "'abc'" in short.stderr
    unknown = vigil("match", "--hashset", "NOPE", "--hash", "a" * 32, home=home)
    assert unknown.returncode == 2 and "no hash set named 'NOPE'" in unknown.stderr
