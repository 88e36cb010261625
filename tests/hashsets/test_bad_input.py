"""Bad records name file, line or JSON path and reason; imports are atomic and idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hashsets import samples
from tests.hashsets.helpers import read_all
from vigil.errors import InvalidRecordError
from vigil.hashsets.model import canonical_hash
from vigil.services.hashsets import import_file
from vigil.store import open_store


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ac26156ccc1aa30390ef3dc20dd094b", "31 characters, expected 32"),
        ("ac26156ccc1aa30390ef3dc20dd094b1a", "33 characters, expected 32"),
        ("zc26156ccc1aa30390ef3dc20dd094b1", "non-hex character 'z'"),
        ("ac26156ccc1aa30390ef3dc20dd094 1", "non-hex character ' '"),
    ],
)
def test_wrong_length_or_non_hex_is_rejected_never_cut_or_padded(
    tmp_path: Path, value: str, reason: str
) -> None:
    path = samples.write_text(tmp_path / "md5.txt", f"{samples.MD5[0]}\n{value}\n")
    entries, rejected, _ = read_all("md5-list", path)
    assert [e.md5 for e in entries] == [samples.MD5[0]]
    assert rejected[0].location == f"{path}:2" and reason in rejected[0].reason


def test_canonical_hash_lowercases_and_strips_but_never_pads() -> None:
    assert canonical_hash("md5", samples.MD5[0].upper()) == samples.MD5[0]
    assert canonical_hash("sha1", f" {samples.SHA1[0]} ") == samples.SHA1[0]
    with pytest.raises(ValueError, match="expected 64"):
        canonical_hash("pdq", samples.PDQ[0][:-1])


def test_vics_errors_name_the_json_path(tmp_path: Path) -> None:
    data = json.loads(json.dumps(samples.VICS_2_MEDIA))
    data["value"][1]["MD5"] = "1234"
    data["value"][2]["IsDistributed"] = "maybe"
    path = samples.write_json(tmp_path / "bad.json", data)
    _, rejected, _ = read_all("vics", path)
    assert [str(r) for r in rejected] == [
        f"{path}:$.value[1]: invalid MD5 hash: 4 characters, expected 32 hex digits ('1234')",
        f"{path}:$.value[2]: IsDistributed must be true or false, not 'maybe'",
    ]


def test_vics_case_error_path_and_bad_alternative_hash(tmp_path: Path) -> None:
    data = json.loads(json.dumps(samples.VICS_1_CASE))
    data["value"][0]["Media"][1]["AlternativeHashes"] = [{"HashName": "PDQ", "HashValue": "ab"}]
    path = samples.write_json(tmp_path / "case.json", data)
    _, rejected, _ = read_all("vics", path)
    assert rejected[0].location == f"{path}:$.value[0].Media[1]"
    assert rejected[0].reason.startswith("AlternativeHashes[0] (PDQ): invalid PDQ hash")


def test_vics_category_outside_the_profile_and_record_without_hash(tmp_path: Path) -> None:
    data = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [{"MD5": samples.MD5[0], "Category": 9}, {"Category": 1}],
    }
    path = samples.write_json(tmp_path / "x.json", data)
    _, rejected, _ = read_all("vics", path)
    assert "category 9 is not a code of profile vics-us" in rejected[0].reason
    assert rejected[1].reason == "no hash: needs MD5, SHA1 or an alternative hash"


def test_truncated_json_is_fatal_and_located(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(samples.VICS_2_MEDIA)[:-40])
    _, rejected, _ = read_all("vics", path)
    assert rejected[-1].fatal and "not valid JSON" in rejected[-1].reason
    assert rejected[-1].location.startswith(f"{path}:$.value[")


def test_csv_and_tx_errors_name_the_line(tmp_path: Path) -> None:
    csv_path = samples.write_text(
        tmp_path / "d.csv",
        f"signal_type,signal_str,collab,category,tags\nurl,http://x,,,\npdq,{samples.PDQ[0]},,,\n",
    )
    _, rejected, _ = read_all("csv", csv_path)
    assert (
        rejected[0].location == f"{csv_path}:2"
        and "'url' is not a media hash" in rejected[0].reason
    )
    tx_path = samples.write_text(tmp_path / "t.txt", f"pdq {samples.PDQ[0]}\npdq 12\n")
    _, rejected, _ = read_all("tx", tx_path)
    assert rejected[0].location == f"{tx_path}:2" and "invalid PDQ hash" in rejected[0].reason


def test_hashdeep_and_md5sum_errors_name_the_line(tmp_path: Path) -> None:
    path = samples.write_text(
        tmp_path / "h.txt",
        "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n12,nothex,a\nx," + samples.MD5[0] + ",b\n",
    )
    _, rejected, _ = read_all("hashdeep", path)
    assert [r.location for r in rejected] == [f"{path}:3", f"{path}:4"]
    assert "invalid MD5" in rejected[0].reason and "size 'x'" in rejected[1].reason
    sums = samples.write_text(tmp_path / "s.txt", f"{samples.MD5[0]}  a\nnot a line\n")
    _, rejected, _ = read_all("md5sum", sums)
    assert rejected[0].location == f"{sums}:2"


def _bad_list(tmp_path: Path) -> Path:
    return samples.write_text(
        tmp_path / "list.txt", f"{samples.MD5[0]}\n{'0' * 31}\n{samples.MD5[1]}\n"
    )


def test_import_stops_at_a_bad_record_and_leaves_the_store_as_it_was(
    tmp_path: Path, store_url: str
) -> None:
    with open_store(store_url) as store:
        import_file(store.hashsets, samples.hex_list(tmp_path / "good.txt", samples.MD5), name="S")
        with pytest.raises(
            InvalidRecordError, match=r"list\.txt:2: invalid MD5 hash: 31 characters"
        ):
            import_file(store.hashsets, _bad_list(tmp_path), name="S")
        assert [e.md5 for e in store.hashsets.entries("S")] == samples.MD5
        assert store.hashsets.require("S").source_format == "md5-list"
        with pytest.raises(InvalidRecordError):
            import_file(store.hashsets, _bad_list(tmp_path), name="new")
        assert store.hashsets.get("new") is None


def test_skip_invalid_imports_the_rest_and_reports(tmp_path: Path, store_url: str) -> None:
    with open_store(store_url) as store:
        report = import_file(store.hashsets, _bad_list(tmp_path), skip_invalid=True)
        assert report.imported == 2 and [r.location for r in report.skipped] == [
            f"{tmp_path / 'list.txt'}:2"
        ]
        assert report.info.attributes["skipped_records"] == 1
        # Without --skip-invalid the same file is refused again, not taken as unchanged.
        with pytest.raises(InvalidRecordError):
            import_file(store.hashsets, _bad_list(tmp_path))


def test_interrupt_mid_import_rolls_back(tmp_path: Path, store_url: str) -> None:
    path = samples.hex_list(tmp_path / "m.txt", [f"{i:032x}" for i in range(5000)])
    calls = []

    def interrupt(position: int, total: int) -> None:
        calls.append(position)
        raise KeyboardInterrupt

    with open_store(store_url) as store:
        import_file(store.hashsets, samples.hex_list(tmp_path / "x.txt", samples.MD5), name="m")
        with pytest.raises(KeyboardInterrupt):
            import_file(store.hashsets, path, name="m", progress=interrupt)
        assert calls and [e.md5 for e in store.hashsets.entries("m")] == samples.MD5
        assert store.hashsets.lookup([("md5", f"{1:032x}")]) == []


def test_reimport_is_idempotent(tmp_path: Path, store_url: str) -> None:
    path = samples.write_json(tmp_path / "l.json", samples.VICS_2_MEDIA)
    with open_store(store_url) as store:
        first = import_file(store.hashsets, path)
        second = import_file(store.hashsets, path)
        assert second.unchanged and second.info.imported_at == first.info.imported_at
        third = import_file(store.hashsets, path, kind=None, format_name="vics")
        assert third.unchanged
        entries = list(store.hashsets.entries("l"))
        path.write_text(path.read_text() + "\n")  # same records, different bytes
        fourth = import_file(store.hashsets, path)
        assert not fourth.unchanged and list(store.hashsets.entries("l")) == entries
        assert len(store.hashsets.list()) == 1
        assert len(store.hashsets.lookup([("md5", samples.MD5[0])])) == 1
