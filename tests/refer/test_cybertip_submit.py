"""``vigil refer --submit-to``: the package's report and files through the API's transactions.

Against a local fake of the CyberTipline API (tests/refer/fake_cybertip.py) on
127.0.0.1: nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_runner import scan_example, vigil
from tests.refer.fake_cybertip import FakeCyberTipline
from tests.refer.test_cybertip import FILE_FACTS, facts
from vigil.errors import UsageError
from vigil.refer.cybertip import report_xml
from vigil.refer.submit import CyberTiplineClient, SubmissionError, check_url, submit_package


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("submit") / "home"
    scan_example(home)
    assert vigil("keys", "generate", home=home).returncode == 0
    return home


@pytest.fixture
def api() -> Iterator[FakeCyberTipline]:
    with FakeCyberTipline(username="esp", password="secret") as fake:
        yield fake


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({**facts(), **FILE_FACTS}))
    credentials = tmp_path / "credentials"
    credentials.write_text("esp:secret\n")
    credentials.chmod(0o600)
    return {"facts": facts_file, "credentials": credentials, "out": tmp_path / "pkg.zip"}


def refer(home: Path, paths: dict[str, Path], *extra: str) -> object:
    return vigil("refer", "demo", "--to", "NCMEC", "--out", str(paths["out"]),
                 "--facts", str(paths["facts"]), *extra, home=home)  # fmt: skip


def test_a_package_goes_through_every_transaction(
    home: Path, paths: dict[str, Path], api: FakeCyberTipline
) -> None:
    made = refer(home, paths, "--format", "cybertip-xml", "--include-media",
                 "--submit-to", api.url, "--credentials", str(paths["credentials"]))  # fmt: skip
    assert made.returncode == 0, made.stderr  # type: ignore[attr-defined]
    assert api.calls == ["/submit"] + ["/upload", "/fileinfo"] * 3 + ["/finish"]
    ((report_id, report),) = api.reports.items()
    assert report.state == "finished" and f"report {report_id}, 3 files" in made.stdout  # type: ignore[attr-defined]
    with zipfile.ZipFile(paths["out"]) as z:
        sent = {hashlib.md5(z.read(n)).hexdigest() for n in z.namelist() if n.startswith("media/")}
    assert {f["md5"] for f in report.files.values()} == sent
    for file_id, file in report.files.items():
        details = file["details"]
        assert details.findtext("reportId") == str(report_id)
        assert details.findtext("fileId") == file_id
        hashes = {h.get("hashType"): h.text for h in details.findall("originalFileHash")}
        assert hashes["MD5"] == file["md5"]
    audit = vigil("audit", "demo", "--json", home=home).stdout.splitlines()
    entry = json.loads(audit[-1])
    assert entry["action"] == "refer.submit" and entry["details"]["report_id"] == report_id


def test_a_refusal_after_submit_retracts_the_report(
    home: Path, paths: dict[str, Path], api: FakeCyberTipline
) -> None:
    api.fail_on = "/fileinfo"
    made = refer(home, paths, "--format", "cybertip-xml", "--include-media",
                 "--submit-to", api.url, "--credentials", str(paths["credentials"]))  # fmt: skip
    assert made.returncode == 1  # type: ignore[attr-defined]
    assert "response code 5000: Server error" in made.stderr  # type: ignore[attr-defined]
    assert "retracted" in made.stderr  # type: ignore[attr-defined]
    assert api.calls[-1] == "/retract"
    assert [r.state for r in api.reports.values()] == ["retracted"]
    entry = json.loads(vigil("audit", "demo", "--json", home=home).stdout.splitlines()[-1])
    assert entry["action"] == "refer.submit-failed"


def test_wrong_credentials_are_reported(
    home: Path, paths: dict[str, Path], api: FakeCyberTipline
) -> None:
    paths["credentials"].write_text("esp:wrong\n")
    made = refer(home, paths, "--format", "cybertip-xml", "--include-media",
                 "--submit-to", api.url, "--credentials", str(paths["credentials"]))  # fmt: skip
    assert made.returncode == 1 and "HTTP 401" in made.stderr  # type: ignore[attr-defined]
    assert api.reports == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--include-media"], "needs --format cybertip-xml"),
        (["--format", "cybertip-xml"], "needs --include-media"),
        (["--format", "cybertip-xml", "--include-media", "--no-credentials"], "--credentials"),
    ],
)
def test_submission_needs_its_options(
    home: Path, paths: dict[str, Path], api: FakeCyberTipline, options: list[str], message: str
) -> None:
    extra = [o for o in options if o != "--no-credentials"]
    if "--no-credentials" not in options:
        extra += ["--credentials", str(paths["credentials"])]
    made = refer(home, paths, *extra, "--submit-to", api.url)
    assert made.returncode == 2 and message in made.stderr  # type: ignore[attr-defined]
    assert not paths["out"].exists() and api.calls == []


def test_credentials_readable_by_others_are_refused(
    home: Path, paths: dict[str, Path], api: FakeCyberTipline
) -> None:
    paths["credentials"].chmod(0o644)
    made = refer(home, paths, "--format", "cybertip-xml", "--include-media",
                 "--submit-to", api.url, "--credentials", str(paths["credentials"]))  # fmt: skip
    assert made.returncode == 2 and "chmod 600" in made.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url", ["http://report.example.org/ispws", "ftp://127.0.0.1/", "https://", "example.org"]
)
def test_only_https_or_this_machine(url: str) -> None:
    with pytest.raises(UsageError, match="over https"):
        check_url(url)
    assert check_url("https://exttest.cybertip.org/ispws/") == "https://exttest.cybertip.org/ispws"
    assert check_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"


def test_a_package_without_its_media_is_not_sent(api: FakeCyberTipline) -> None:
    client = CyberTiplineClient(api.url, "esp", "secret")
    report = b"<report/>"
    template = b'<fileDetails><originalFileHash hashType="MD5">00</originalFileHash></fileDetails>'
    with pytest.raises(UsageError, match="add --include-media"):
        submit_package({"cybertip/report.xml": report}, client)
    members = {"cybertip/report.xml": report, "cybertip/fileDetails-0001.xml": template}
    with pytest.raises(UsageError, match="not in the package's media"):
        submit_package(members, client)
    members["media/0001-a.jpg"] = b"not the file"
    with pytest.raises(UsageError, match="MD5 differs"):
        submit_package(members, client)
    assert api.calls == []


def test_an_unreachable_api() -> None:
    with FakeCyberTipline() as fake:
        url = fake.url
    client = CyberTiplineClient(url, "esp", "secret")
    with pytest.raises(SubmissionError, match="cannot reach"):
        client.submit(b"<report/>")


def test_the_fake_refuses_what_the_api_refuses(api: FakeCyberTipline) -> None:
    """The fake is no yes-machine: out-of-sequence documents get response code 4100."""
    client = CyberTiplineClient(api.url, "esp", "secret")
    misordered = (
        b"<report><reporter><reportingPerson><email>a@b.example</email></reportingPerson>"
        b"</reporter><incidentSummary><incidentType>x</incidentType></incidentSummary></report>"
    )
    with pytest.raises(SubmissionError, match="response code 4100"):
        client.submit(misordered)
    report_id = client.submit(report_xml(facts()))
    _, md5 = client.upload(report_id, "a.jpg", b"benign bytes")
    assert md5 == hashlib.md5(b"benign bytes").hexdigest()
    late_ids = (
        f"<fileDetails><fileName>a.jpg</fileName><reportId>{report_id}</reportId></fileDetails>"
    )
    with pytest.raises(SubmissionError, match="reportId and fileId must come first"):
        client.file_info(late_ids.encode())
    client.retract(report_id)
    with pytest.raises(SubmissionError, match="No open report"):
        client.finish(report_id)
