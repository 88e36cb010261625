"""Each format reads its own small file, is detected, and writes what it read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hashsets import samples
from tests.hashsets.helpers import read_all, rewrite
from vigil.errors import HashSetError, UsageError
from vigil.hashsets.formats import FORMATS, detect_format, get_format
from vigil.hashsets.model import HashSetInfo


def test_vics_2_media_shape_reads_every_field(tmp_path: Path) -> None:
    path = samples.write_json(tmp_path / "list.json", samples.VICS_2_MEDIA, bom=True)
    assert detect_format(path) == "vics"
    entries, rejected, ctx = read_all("vics", path)
    assert rejected == []
    assert ctx.category_profile == "vics-us" and ctx.version == "VICS 2.0"
    first = entries[0]
    assert first.md5 == samples.MD5[0] and first.sha1 == samples.SHA1[0]
    assert first.pdq == samples.PDQ[0] and first.photodna == samples.PHOTODNA
    assert first.category == "1" and first.series == "S-1" and first.tags == ("a", "b")
    assert first.victim_identified is True and first.is_distributed is False
    assert first.media_size == 1234 and first.file_names == ("beach.jpg", "copy.jpg")
    assert first.extra["AlternativeHashes"] == [{"HashName": "TMK", "HashValue": "opaque"}]
    assert first.extra["Exifs"] == [{"PropertyName": "Make", "PropertyValue": "Example"}]
    assert first.extra["MediaFiles"][1] == {"FileName": "copy.jpg", "Deleted": True}
    assert first.extra["OffenderIdentified"] is True and first.extra["MediaID"] == 7
    assert entries[1].category == "4" and entries[1].is_distributed is False
    assert entries[2].category is None and entries[2].sha1 == samples.SHA1[1]


def test_vics_1_case_shape_streams_media_and_keeps_the_case(tmp_path: Path) -> None:
    path = samples.write_json(tmp_path / "case.json", samples.VICS_1_CASE)
    assert detect_format(path) == "vics"
    entries, rejected, ctx = read_all("vics", path)
    assert rejected == [] and [e.md5 for e in entries] == samples.MD5
    assert entries[0].photodna == samples.PHOTODNA and entries[1].is_distributed is True
    assert ctx.version == "VICS 1.3"
    case = ctx.attributes["vics_case"]
    assert case["CaseNumber"] == "2026-0001" and case["SourceApplicationVersion"] == "1"
    assert "Media" not in case


@pytest.mark.parametrize("writer", ["vics", "vics1"])
@pytest.mark.parametrize("shape", ["media", "case"])
def test_vics_writers_round_trip_nested_data_and_the_case(
    tmp_path: Path, writer: str, shape: str
) -> None:
    """The hash-set shape is the default; the Case record is written back only when asked."""
    for name, data in (("list", samples.VICS_2_MEDIA), ("case", samples.VICS_1_CASE)):
        entries, _, ctx = read_all("vics", samples.write_json(tmp_path / f"{name}.json", data))
        out = tmp_path / f"{name}.{writer}.{shape}.json"
        info = HashSetInfo(
            name="t", category_profile=ctx.category_profile, attributes=ctx.attributes
        )
        get_format(writer).write(entries, out, info, shape=shape)  # type: ignore[call-arg]
        again, rejected, ctx2 = read_all("vics", out)
        assert rejected == [] and again == entries
        document = json.loads(out.read_text())  # well-formed JSON
        if shape == "media":
            assert ctx2.attributes.get("vics_case") is None
            assert all("MD5" in record or "SHA1" in record for record in document["value"])
        else:
            assert ctx2.attributes.get("vics_case") == (ctx.attributes.get("vics_case") or {})


def test_vics_2_profiles_in_the_context(tmp_path: Path) -> None:
    data = json.loads(json.dumps(samples.VICS_2_MEDIA))
    data["@odata.context"] = data["@odata.context"].replace("/US/", "/UK/")
    data["value"] = [{"MD5": samples.MD5[0], "Category": "B"}]
    entries, rejected, ctx = read_all("vics", samples.write_json(tmp_path / "uk.json", data))
    assert ctx.category_profile == "uk-caid" and entries[0].category == "B" and not rejected
    data["@odata.context"] = data["@odata.context"].replace("/UK/", "/CUSTOM/")
    data["value"] = [{"MD5": samples.MD5[0], "Category": 17}]
    entries, _, ctx = read_all("vics", samples.write_json(tmp_path / "custom.json", data))
    assert ctx.category_profile is None and entries[0].category == "17"


def test_caid_detected_by_letters_and_written_with_configured_codes(tmp_path: Path) -> None:
    path = samples.write_json(tmp_path / "caid.json", samples.CAID)
    assert detect_format(path) == "caid"
    entries, rejected, ctx = read_all("caid", path)
    assert not rejected and ctx.category_profile == "uk-caid"
    assert [e.category for e in entries] == ["A", "C"]
    out = rewrite("caid", entries, tmp_path / "out.json", category_profile="uk-caid")
    text = json.loads(out.read_text())
    assert text["odata.metadata"].endswith("1.2.xml#Media")
    assert [m["Category"] for m in text["value"]] == [1, 3]
    assert read_all("caid", out)[0] == entries


def test_caid_export_of_a_us_set_needs_a_configured_mapping(tmp_path: Path) -> None:
    entries, _, _ = read_all("vics", samples.write_json(tmp_path / "l.json", samples.VICS_2_MEDIA))
    with pytest.raises(UsageError, match="no mapping from category profile vics-us to uk-caid"):
        rewrite("caid", entries, tmp_path / "out.json", category_profile="vics-us")


def test_threatexchange_csv(tmp_path: Path) -> None:
    path = samples.tx_csv(tmp_path / "dataset.csv")
    assert detect_format(path) == "csv"
    entries, rejected, _ = read_all("csv", path)
    assert not rejected
    assert entries[0].pdq == samples.PDQ[0] and entries[0].tags == ("tag1", "tag2")
    assert entries[0].extra == {"collab": "Sample Collab", "tx_category": "POSITIVE_CLASS"}
    assert entries[1].md5 == samples.MD5[0] and entries[1].tags == ()
    out = rewrite("csv", entries, tmp_path / "out.csv")
    assert out.read_text() == path.read_text()


def test_threatexchange_lines(tmp_path: Path) -> None:
    path = samples.tx_lines(tmp_path / "signals.txt")
    assert detect_format(path) == "tx"
    entries, rejected, _ = read_all("tx", path)
    assert not rejected
    assert entries[0].pdq == samples.PDQ[0]
    assert entries[1].md5 == samples.MD5[0] and entries[2].sha256 == samples.SHA256[0]
    out = rewrite("tx", entries, tmp_path / "out.txt")
    assert out.read_text().splitlines()[1] == f"video_md5 {samples.MD5[0]}"
    assert read_all("tx", out)[0] == entries


def test_md5sum_text_and_binary_mode(tmp_path: Path) -> None:
    path = samples.md5sum(tmp_path / "MD5SUMS")
    assert detect_format(path) == "md5sum"
    entries, rejected, _ = read_all("md5sum", path)
    assert not rejected and [e.file_names for e in entries] == [
        ("holiday/beach.jpg",),
        ("misc/binary mode.gif",),
    ]
    out = rewrite("md5sum", entries, tmp_path / "out")
    assert read_all("md5sum", out)[0] == entries


def test_sha_sums_and_escaped_names(tmp_path: Path) -> None:
    path = samples.write_text(
        tmp_path / "SHA256SUMS", f"\\{samples.SHA256[0]}  dir\\\\with\\nnewline\n"
    )
    assert detect_format(path) == "sha256sum"
    entries, rejected, _ = read_all("sha256sum", path)
    assert not rejected and entries[0].file_names == ("dir\\with\nnewline",)
    out = rewrite("sha256sum", entries, tmp_path / "out")
    assert out.read_text() == path.read_text()
    sha1 = samples.write_text(tmp_path / "SHA1SUMS", f"{samples.SHA1[0]}  a.txt\n")
    assert detect_format(sha1) == "sha1sum"


def test_hashdeep(tmp_path: Path) -> None:
    path = samples.hashdeep(tmp_path / "audit.hashdeep")
    assert detect_format(path) == "hashdeep"
    entries, rejected, ctx = read_all("hashdeep", path)
    assert not rejected
    assert entries[0].media_size == 1234 and entries[0].file_names == (
        "/evidence/a, with comma.jpg",
    )
    assert entries[0].sha256 == samples.SHA256[0]
    out = rewrite("hashdeep", entries, tmp_path / "out", attributes=ctx.attributes)
    assert out.read_text().startswith("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n")
    assert read_all("hashdeep", out)[0] == entries


@pytest.mark.parametrize(
    ("name", "values", "file_name"),
    [
        ("md5-list", samples.MD5, "md5.txt"),
        ("sha1-list", samples.SHA1, "sha1.txt"),
        ("sha256-list", samples.SHA256, "sha256.txt"),
        ("pdq-list", samples.PDQ, "pdq-hashes.txt"),
    ],
)
def test_hex_lists(tmp_path: Path, name: str, values: list[str], file_name: str) -> None:
    path = samples.hex_list(tmp_path / file_name, [v.upper() for v in values])
    assert detect_format(path) == name
    entries, rejected, _ = read_all(name, path)
    hash_type = get_format(name).hash_type  # type: ignore[attr-defined]
    assert not rejected and [getattr(e, hash_type) for e in entries] == values
    out = rewrite(name, entries, tmp_path / "out.txt")
    assert out.read_text() == "\n".join(values) + "\n"


def test_hex_list_with_comments_blank_lines_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "md5.txt"
    path.write_bytes(
        b"\xef\xbb\xbf# exported 2026\r\n"
        + samples.MD5[0].encode()
        + b"\r\n\r\n"
        + samples.MD5[1].upper().encode()
    )
    entries, rejected, _ = read_all("md5-list", path)
    assert not rejected and [e.md5 for e in entries] == samples.MD5


def test_nsrl_rds_v3_reads_distinct_hashes_only(tmp_path: Path) -> None:
    path = samples.rds(tmp_path / "RDS_2026.09.1_modern_minimal.db", samples.rds_rows())
    assert detect_format(path) == "nsrl"
    entries, rejected, ctx = read_all("nsrl", path)
    assert not rejected and len(entries) == 2  # three FILE rows, two distinct contents
    assert {e.md5 for e in entries} == set(samples.MD5)
    assert all(not e.file_names and e.media_size is None for e in entries)
    assert ctx.version == "RDS 2026.09.1"
    assert ctx.attributes["nsrl_version"]["build_set"] == "modern minimal"
    assert get_format("nsrl").default_kind == "ignore"
    out = rewrite("nsrl", entries, tmp_path / "export.db", attributes=ctx.attributes)
    assert detect_format(out) == "nsrl"
    assert sorted(read_all("nsrl", out)[0], key=lambda e: e.md5 or "") == sorted(
        entries, key=lambda e: e.md5 or ""
    )


def test_a_sqlite_file_that_is_not_an_rds_is_not_detected(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(HashSetError, match="cannot tell the format"):
        detect_format(path)


def test_every_registered_format_loads_and_has_a_title() -> None:
    for name in FORMATS:
        fmt = get_format(name)
        assert fmt.name == name and fmt.title
    with pytest.raises(UsageError, match="unknown hash-set format 'nope'"):
        get_format("nope")
