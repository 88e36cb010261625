"""``vigil user add``, ``vigil leads``, ``vigil review`` and ``vigil export --confirmed``.

The confirmed export is the point of the review: new hashes out. The test confirms
media under the four-eyes rule, exports them, imports the file as a new hash set and
scans the evidence again into a new case, which now finds them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.cli_runner import vigil
from tests.review.conftest import Reviewed, free_port
from vigil.cli.main import cli
from vigil.review.accounts import User
from vigil.review.service import ReviewError


def test_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    env = {"VIGIL_HOME": str(tmp_path / "home"), "VIGIL_DATABASE_URL": None}
    runner = CliRunner()
    added = runner.invoke(
        cli(), ["user", "add", "carol", "--role", "lead", "--password-stdin"],
        input="a good long password\n", env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    again = runner.invoke(
        cli(), ["user", "add", "carol", "--password-stdin"], input="a good long password\n",
        env=env,
    )  # fmt: skip
    assert again.exit_code == 2 and "exists" in again.stderr
    short = runner.invoke(cli(), ["user", "add", "dan", "--password-stdin"], input="x\n", env=env)
    assert short.exit_code == 2 and "at least" in short.stderr
    role = runner.invoke(cli(), ["user", "add", "dan", "--role", "boss"], env=env)
    assert role.exit_code == 2 and "role" in role.stderr
    listed = runner.invoke(cli(), ["user", "list"], env=env)
    assert listed.stdout.splitlines() == ["carol\tlead"]


def test_leads(reviewed: Reviewed) -> None:
    shown = vigil("leads", "c1", home=reviewed.home)
    assert shown.returncode == 0, shown.stderr
    assert "Vigilcam T1 #SN-0001: 1 matched, 1 unknown" in shown.stdout
    assert f"unknown: {reviewed.files['b']}" in shown.stdout
    assert "EXIF thumbnails that matched: 1" in shown.stdout
    data = json.loads(vigil("leads", "c1", "--json", home=reviewed.home).stdout)
    assert [c["serial"] for c in data["cameras"]] == ["SN-0001"]
    assert [p["matched"] for p in data["positions"]] == [True, False]
    assert [t["taken"][:10] for t in data["timeline"]] == ["2021-07-04", "2021-07-05", "2022-01-01"]
    assert data["thumbnail_matches"][0]["path"] == str(reviewed.files["c"])
    assert vigil("leads", "nope", home=reviewed.home).returncode == 2
    rows = [
        json.loads(x)
        for x in vigil("leads", "c1", "--items", home=reviewed.home).stdout.splitlines()
    ]
    by_path = {r["path"]: r for r in rows}
    assert len(rows) == 7  # every picture file, copies included
    assert (
        by_path[str(reviewed.files["a"])]["group"]
        == by_path[str(reviewed.files["a_small"])]["group"]
    )
    assert by_path[str(reviewed.files["b"])]["exif"]["serial"] == "SN-0001"
    assert by_path[str(reviewed.files["c"])]["thumbnail_match"][0]["hashset"] == "KNOWN"
    assert by_path[str(reviewed.files["d"])]["thumbnail_match"] == []
    # the analysis is in the audit log
    log = vigil("audit", "c1", home=reviewed.home).stdout
    assert "review.analyse" in log


def test_confirmed_export_reimports_and_a_rescan_finds_the_media(
    reviewed: Reviewed, tmp_path: Path
) -> None:
    store, review = reviewed.session()
    alice, bob = User(1, "alice", "reviewer"), User(2, "bob", "reviewer")
    by_name = {m.first.path: m.sha256 for m in review.media.values()}
    b, d = by_name[str(reviewed.files["b"])], by_name[str(reviewed.files["d"])]
    a = by_name[str(reviewed.files["a"])]
    review.decide(alice, [b, d], "1")
    review.decide(bob, [b], "1")  # b: confirmed by two; d: by one only
    review.decide(alice, [a], "agree")  # a matched: one agreement confirms
    before = len(review.repo.grades(review.case))
    with pytest.raises(ReviewError, match="category"):  # "agree" means nothing for d
        review.decide(bob, [a, d], "agree")
    assert len(review.repo.grades(review.case)) == before  # nothing of the batch written
    store.close()
    out = tmp_path / "confirmed.json"
    made = vigil(
        "export", "c1", "--confirmed", "--format", "vics", "--out", str(out), home=reviewed.home
    )
    assert made.returncode == 0, made.stderr
    records = json.loads(out.read_text())["value"]
    md5s = {r["MD5"].lower() for r in records}

    def md5(path: Path) -> str:
        return hashlib.md5(path.read_bytes()).hexdigest()

    assert md5s == {md5(reviewed.files["a"]), md5(reviewed.files["b"])}  # not d: one pair of eyes
    assert all(r["Category"] == 1 for r in records)
    assert all(any(h["HashName"] == "PDQ" for h in r.get("AlternativeHashes", [])) for r in records)
    # new hashes in: the next case finds b by hash
    imported = vigil("hashset", "import", str(out), "--name", "REVIEWED", home=reviewed.home)
    assert imported.returncode == 0, imported.stderr
    rescanned = vigil(
        "scan", str(reviewed.files["b"].parent), "--case", "c2", "--hashset", "REVIEWED",
        home=reviewed.home,
    )  # fmt: skip
    assert rescanned.returncode == 0, rescanned.stderr
    results = vigil("results", "c2", "--matches-only", "--format", "jsonl", home=reviewed.home)
    found = [json.loads(line) for line in results.stdout.splitlines() if line.strip()]
    paths = {f["path"] for f in found}
    assert str(reviewed.files["b"]) in paths and str(reviewed.files["a"]) in paths
    assert str(reviewed.files["d"]) not in paths
    # other formats too; a wrong one is a usage error
    for fmt in ("md5-list", "pdq-list", "csv"):
        assert (
            vigil("export", "c1", "--confirmed", "--format", fmt, home=reviewed.home).returncode
            == 0
        )
    assert (
        vigil("export", "c1", "--confirmed", "--format", "nope", home=reviewed.home).returncode == 2
    )
    assert vigil("export", "c1", "--format", "md5-list", home=reviewed.home).returncode == 2
    assert "export.confirmed" in vigil("audit", "c1", home=reviewed.home).stdout


def test_vigil_review_serves_on_loopback(reviewed: Reviewed) -> None:
    port = free_port()
    env = {**os.environ, "VIGIL_HOME": str(reviewed.home)}
    env.pop("VIGIL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "review", "c1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "vigil review did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and "Log in to review case c1" in answer.text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert f"open http://127.0.0.1:{port}/" in err
    assert "1 matched and 5 unknown groups" in err


@pytest.mark.parametrize("args", [["nope"], ["c1", "--distance", "300"]])
def test_vigil_review_usage_errors(reviewed: Reviewed, args: list[str]) -> None:
    assert vigil("review", *args, home=reviewed.home).returncode == 2
