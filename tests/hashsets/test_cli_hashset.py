"""``vigil hashset`` end to end, in process: output, files and exit codes.

(Kept beside the hash-set tests rather than in tests/cli/, which another colleague owns.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.hashsets import samples
from vigil.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "hashsets" / "example-vics.json"


@pytest.fixture
def run(store_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli(), ["hashset", *args], catch_exceptions=False)

    return invoke


def test_the_bundled_example_imports_shows_and_looks_up(run) -> None:  # type: ignore[no-untyped-def]
    result = run("import", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "example-vics: imported 3 entries (vics, alert, profile vics-us)" in result.output
    shown = json.loads(run("show", "example-vics", "--json").output)
    assert shown["hashes"] == {"md5": 3, "sha1": 3, "pdq": 2}
    assert shown["categories"] == {"1": 2, "2": 1}
    listed = [json.loads(line) for line in run("list", "--json").output.splitlines()]
    assert [s["name"] for s in listed] == ["example-vics"]
    looked = run(
        "lookup",
        "AC26156CCC1AA30390EF3DC20DD094B1",
        "pdq:dee92d949b52a57273a754ad58c92b36bb529cd8cc8c526b3526ad48cdc864b4",
        "0" * 40,
    )
    assert looked.exit_code == 0
    lines = looked.output.splitlines()
    assert lines[0] == "md5:ac26156ccc1aa30390ef3dc20dd094b1  example-vics  alert  1 (vics-us)"
    assert lines[1].startswith("pdq:dee92d94") and lines[2] == f"{'0' * 40}  not found"
    assert run("show", "example-vics").exit_code == 0
    assert "example-vics" in run("list").output


def test_export_each_cli_format_and_reimport(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("import", str(EXAMPLE), "--name", "ex").exit_code == 0
    for fmt in ("vics", "csv", "tx", "md5sum"):
        out = tmp_path / f"out.{fmt}"
        result = run("export", "ex", "--format", fmt, "--out", str(out))
        assert result.exit_code == 0 and out.stat().st_size > 0
        assert run("import", str(out), "--name", f"re-{fmt}").exit_code == 0
    stdout = run("export", "ex", "--format", "md5sum")
    assert stdout.output.splitlines()[0] == "ac26156ccc1aa30390ef3dc20dd094b1  -"


def test_skip_invalid_reports_and_errors_exit_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = samples.write_text(tmp_path / "bad.txt", f"{samples.MD5[0]}\n{'g' * 32}\n")
    result = run("import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:2: invalid MD5 hash: non-hex character 'g'" in result.output
    assert json.loads(run("list", "--json").output or "null") is None
    result = run("import", str(bad), "--skip-invalid")
    assert result.exit_code == 0
    assert "imported 1 entries" in result.output and "skipped 1 invalid records" in result.output


def test_nsrl_imports_as_ignore_and_unchanged_on_reimport(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rds = samples.rds(tmp_path / "RDS.db", samples.rds_rows())
    result = run("import", str(rds), "--name", "NSRL")
    assert result.exit_code == 0 and "(nsrl, ignore, profile none)" in result.output
    assert "unchanged" in run("import", str(rds), "--name", "NSRL").output
    looked = run("lookup", samples.SHA256[0], "--json")
    hits = [json.loads(line) for line in looked.output.splitlines()]
    assert [(h["hash_type"], h["set"], h["kind"]) for h in hits] == [("sha256", "NSRL", "ignore")]


def test_usage_errors_exit_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("import", str(tmp_path / "missing.json")).exit_code == 2
    assert run("show", "nope").exit_code == 2
    assert run("delete", "nope").exit_code == 2
    assert run("lookup", "xyz").exit_code == 2
    assert run("import", str(EXAMPLE), "--format", "bogus").exit_code == 2
    assert run("import", str(EXAMPLE), "--kind", "bogus").exit_code == 2
    assert run("import", str(EXAMPLE)).exit_code == 0
    assert run("export", "example-vics", "--format", "bogus").exit_code == 2
    assert run("export", "example-vics", "--format", "nsrl").exit_code == 2  # needs --out


def test_delete(run) -> None:  # type: ignore[no-untyped-def]
    run("import", str(EXAMPLE))
    result = run("delete", "example-vics")
    assert result.exit_code == 0 and "deleted" in result.output
    assert run("lookup", "AC26156CCC1AA30390EF3DC20DD094B1").output.endswith("not found\n")
