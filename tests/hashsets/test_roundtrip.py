"""Round trips: import, export, import gives the same entries, in every format.

Hypothesis generates entries that a format can carry; the property is that reading
what Vigil wrote gives the entries back, and that a second export/import changes
nothing (the fixed point an examiner relies on when lists travel between tools).
The store-level test does the same through the database on both backends.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hashsets import samples
from tests.hashsets.helpers import read_all, rewrite
from vigil.hashsets.model import Entry
from vigil.services.hashsets import export_set, import_file
from vigil.store import open_store

HEX = "0123456789abcdef"
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def hexes(n: int) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=n, max_size=n)


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s != "-"
)
words = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)
one_hash = st.one_of(
    hexes(32).map(lambda h: Entry(md5=h)),
    hexes(40).map(lambda h: Entry(sha1=h)),
    hexes(64).map(lambda h: Entry(sha256=h)),
    hexes(64).map(lambda h: Entry(pdq=h)),
)


@st.composite
def vics_entries(draw: st.DrawFn) -> Entry:
    entry = Entry(
        md5=draw(st.none() | hexes(32)),
        sha1=draw(st.none() | hexes(40)),
        sha256=draw(st.none() | hexes(64)),
        pdq=draw(st.none() | hexes(64)),
        photodna=draw(
            st.none()
            | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/=", min_size=4, max_size=20)
        ),
        category=draw(st.none() | st.sampled_from(["0", "1", "2", "3", "4"])),
        series=draw(st.none() | text),
        tags=tuple(draw(st.lists(text.filter(lambda s: "|" not in s), max_size=3))),
        victim_identified=draw(st.none() | st.booleans()),
        is_distributed=draw(st.none() | st.booleans()),
        media_size=draw(st.none() | st.integers(0, 2**40)),
        file_names=tuple(draw(st.lists(text, max_size=2))),
        comments=draw(st.none() | text),
        date_updated=draw(st.none() | st.just("2026-11-29T00:00:00Z")),
        extra=draw(
            st.sampled_from(
                [{}, {"MediaID": 5}, {"Exifs": [{"PropertyName": "Make", "PropertyValue": "X"}]}]
            )
        ),
    )
    if not (entry.md5 or entry.sha1 or entry.sha256 or entry.pdq or entry.photodna):
        entry.md5 = "0" * 32
    return entry


def _round_trip(fmt: str, entries: list[Entry], **info: object) -> tuple[list[Entry], list[Entry]]:
    with tempfile.TemporaryDirectory() as tmp:
        first = read_all(fmt, rewrite(fmt, entries, Path(tmp) / "a", **info))
        assert first[1] == []
        second = read_all(fmt, rewrite(fmt, first[0], Path(tmp) / "b", **info))
        assert second[1] == []
        return first[0], second[0]


@SETTINGS
@given(st.lists(vics_entries(), max_size=6), st.sampled_from(["vics", "vics1"]))
def test_vics_round_trip(entries: list[Entry], fmt: str) -> None:
    first, second = _round_trip(fmt, entries, category_profile="vics-us")
    assert first == second and len(first) == len(entries)
    for got, want in zip(first, entries, strict=True):
        assert (got.md5, got.sha1, got.sha256, got.pdq, got.photodna, got.category) == (
            want.md5,
            want.sha1,
            want.sha256,
            want.pdq,
            want.photodna,
            want.category,
        )
        assert (got.tags, got.file_names, got.media_size, got.is_distributed) == (
            want.tags,
            want.file_names,
            want.media_size,
            want.is_distributed,
        )


@SETTINGS
@given(st.lists(one_hash, max_size=8))
def test_tx_lines_round_trip(entries: list[Entry]) -> None:
    assert _round_trip("tx", entries) == (entries, entries)


@SETTINGS
@given(
    st.lists(
        st.tuples(one_hash, st.lists(words, max_size=3), st.none() | text).map(
            lambda t: Entry(
                **t[0].hashes(),
                tags=tuple(t[1]),
                extra={"collab": t[2], "tx_category": "POSITIVE_CLASS"} if t[2] else {},
            )
        ),
        max_size=8,
    )
)
def test_tx_csv_round_trip(entries: list[Entry]) -> None:
    assert _round_trip("csv", entries) == (entries, entries)


@SETTINGS
@given(st.sampled_from(["md5sum", "sha1sum", "sha256sum"]), st.data())
def test_checksum_round_trip(fmt: str, data: st.DataObject) -> None:
    hash_type, digits = {
        "md5sum": ("md5", 32),
        "sha1sum": ("sha1", 40),
        "sha256sum": ("sha256", 64),
    }[fmt]
    names = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
        min_size=1,
        max_size=15,
    )
    entries = data.draw(
        st.lists(
            st.tuples(hexes(digits), st.none() | names.filter(lambda n: n != "-")).map(
                lambda t: Entry(**{hash_type: t[0]}, file_names=(t[1],) if t[1] else ())
            ),
            max_size=8,
        )
    )
    assert _round_trip(fmt, entries) == (entries, entries)


@SETTINGS
@given(
    st.lists(
        st.builds(
            lambda md5, sha1, sha256, size, name: Entry(
                md5=md5,
                sha1=sha1,
                sha256=sha256,
                media_size=size,
                file_names=(name,) if name else (),
            ),
            st.none() | hexes(32),
            st.none() | hexes(40),
            st.none() | hexes(64),
            st.none() | st.integers(0, 2**50),
            st.none() | st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=15),
        ),
        max_size=8,
    )
)
def test_hashdeep_round_trip(entries: list[Entry]) -> None:
    first, second = _round_trip("hashdeep", entries)
    assert first == second == entries


@SETTINGS
@given(st.sampled_from(["md5-list", "sha1-list", "sha256-list", "pdq-list"]), st.data())
def test_hex_list_round_trip(fmt: str, data: st.DataObject) -> None:
    hash_type = fmt.removesuffix("-list")
    digits = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}[hash_type]
    entries = [Entry(**{hash_type: h}) for h in data.draw(st.lists(hexes(digits), max_size=10))]
    assert _round_trip(fmt, entries) == (entries, entries)


@SETTINGS
@given(st.lists(st.tuples(hexes(32), hexes(40), hexes(64)), max_size=8, unique_by=lambda t: t[2]))
def test_nsrl_round_trip(triples: list[tuple[str, str, str]]) -> None:
    entries = [Entry(md5=a, sha1=b, sha256=c) for a, b, c in triples]
    first, second = _round_trip("nsrl", entries)
    key = lambda e: e.sha256 or ""  # noqa: E731
    assert sorted(first, key=key) == sorted(second, key=key) == sorted(entries, key=key)


SAMPLES = {
    "vics": lambda d: samples.write_json(d / "v.json", samples.VICS_2_MEDIA, bom=True),
    "vics1": lambda d: samples.write_json(d / "case.json", samples.VICS_1_CASE),
    "caid": lambda d: samples.write_json(d / "caid.json", samples.CAID),
    "csv": lambda d: samples.tx_csv(d / "d.csv"),
    "tx": lambda d: samples.tx_lines(d / "t.txt"),
    "md5sum": lambda d: samples.md5sum(d / "MD5SUMS"),
    "sha256sum": lambda d: samples.write_text(d / "S", f"{samples.SHA256[0]}  x\n"),
    "sha1sum": lambda d: samples.write_text(d / "S1", f"{samples.SHA1[0]}  y\n"),
    "hashdeep": lambda d: samples.hashdeep(d / "h.txt"),
    "md5-list": lambda d: samples.hex_list(d / "m.txt", samples.MD5),
    "sha1-list": lambda d: samples.hex_list(d / "s1.txt", samples.SHA1),
    "sha256-list": lambda d: samples.hex_list(d / "s256.txt", samples.SHA256),
    "pdq-list": lambda d: samples.hex_list(d / "pdq.txt", samples.PDQ),
    "nsrl": lambda d: samples.rds(d / "rds.db", samples.rds_rows()),
}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_store_round_trip(fmt: str, tmp_path: Path, store_url: str) -> None:
    source = SAMPLES[fmt](tmp_path)
    with open_store(store_url) as store:
        first = import_file(store.hashsets, source, name="first", format_name=fmt)
        assert first.imported > 0
        out = tmp_path / f"export.{fmt}"
        export_set(store.hashsets, "first", fmt, out)
        second = import_file(store.hashsets, out, name="second", format_name=fmt)
        assert second.info.category_profile == first.info.category_profile
        assert second.info.kind == first.info.kind
        a = list(store.hashsets.entries("first"))
        b = list(store.hashsets.entries("second"))
        if fmt == "nsrl":
            a.sort(key=lambda e: e.sha256 or "")
            b.sort(key=lambda e: e.sha256 or "")
        assert a == b
