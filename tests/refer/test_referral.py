"""Referral packages end to end: schema, CyberTipline XML, facts checks, signing, verify."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from tests.cli_runner import scan_example, vigil
from vigil.refer.cybertip import report_xml
from vigil.refer.facts import FactsError, check_facts, load_facts

FACTS = """
[incident]
type = "Child Pornography (possession, manufacture, and distribution)"
date = "2026-11-20T10:00:00Z"
escalate = "Immediate risk to a child"
[reporter]
name = "Ada Examiner"
email = "ada@example.org"
[law_enforcement]
agency = "Example Police"
case_number = "2026-0042"
[[persons]]
screen_names = ["example_user"]
profile_urls = ["https://example.org/u/example_user"]
device_ids = [{ type = "IMEI", value = "000000000000000" }]
[[persons.ip_events]]
ip = "192.0.2.10"
event = "Upload"
date = "2026-11-19T08:00:00Z"
port = 443
[[internet]]
url = "https://example.org/share/1"
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("refer") / "home"
    scan_example(home)
    assert vigil("keys", "generate", home=home).returncode == 0
    return home


def test_package(home: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.toml"
    facts.write_text(FACTS)
    out = tmp_path / "pkg.zip"
    made = vigil("refer", "demo", "--to", "Partner", "--out", str(out), "--facts", str(facts),
                 "--format", "cybertip-xml", home=home)  # fmt: skip
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        referral = json.loads(z.read("referral.json"))
        schema = json.loads(z.read("referral.schema.json"))
        report = ET.fromstring(z.read("cybertip/report.xml"))
        details = ET.fromstring(z.read("cybertip/fileDetails-0001.xml"))
    jsonschema.validate(referral, schema)
    assert {
        "referral.json",
        "hashes.csv",
        "case.vics.json",
        "manifest.json",
        "manifest.sig",
    } <= names
    assert not any(n.startswith("media/") for n in names)  # no content unless asked
    assert referral["to"] == "Partner" and referral["media_included"] is False
    assert len(referral["files"]) == 3 and all(f["hashes"]["sha256"] for f in referral["files"])
    assert referral["persons_reported"][0]["ip_events"][0]["ip"] == "192.0.2.10"
    assert [c.tag for c in report] == [
        "incidentSummary", "internetDetails", "lawEnforcement", "reporter", "personOrUserReported",
    ]  # fmt: skip
    assert [c.tag for c in report.find("incidentSummary")] == [
        "incidentType", "escalateToHighPriority", "incidentDateTime",
    ]  # fmt: skip
    assert [h.get("hashType") for h in details.findall("originalFileHash")] == [
        "MD5",
        "SHA1",
        "SHA256",
    ]
    pub = home / "keys" / "signing.pub"
    ok = vigil("verify", str(out), "--key", str(pub), home=home)
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1] == "VALID"
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(
                info.filename,
                data.replace(b"Partner", b"Partnes") if info.filename == "referral.json" else data,
            )
    bad = vigil("verify", str(tampered), "--key", str(pub), home=home)
    assert bad.returncode == 1 and "changed: referral.json" in bad.stdout
    audit = vigil("audit", "demo", "--verify", "--json", home=home)
    assert audit.returncode == 0
    assert json.loads(audit.stdout.splitlines()[-1])["action"] == "refer"


def test_media_only_when_asked(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "with-media.zip"
    assert (
        vigil(
            "refer", "demo", "--to", "P", "--out", str(out), "--include-media", home=home
        ).returncode
        == 0
    )
    with zipfile.ZipFile(out) as z:
        media = [n for n in z.namelist() if n.startswith("media/")]
        assert len(media) == 3
        assert json.loads(z.read("referral.json"))["media_included"] is True


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"incident": {"date": "2999-01-01T00:00:00Z"}}, "is in the future"),
        ({"persons": [{"profile_urls": ["https://example.org/a b"]}]}, "contains white space"),
        ({"internet": [{"url": "https://example.org/\tx"}]}, "contains white space"),
        ({"persons": [{"ip_events": [{"ip": "192.0.2.1", "event": "Hacking"}]}]}, "must be one of"),
        ({"reporter": {"name": "No Mail"}}, "reporter.email is required"),
        ({"incident": {"date": "yesterday"}}, "not an ISO 8601"),
        ({"incident": {"escalate": True}}, "reason for escalating"),
        ({"incident": {"annotations": "sextortion"}}, "must be a list of text values"),
        ({"persons": [{"device_ids": ["IMEI 1"]}]}, r"device_ids\[0\] must be a table"),
        ({"persons": [{"device_ids": [{"type": "IMEI", "value": "1", "event": "x"}]}]}, "one of"),
        ({"persons": [{"estimated_location": "Oslo"}]}, "must be a table"),
        ({"file_details": {"viewed": "yes"}}, r"file_details\.viewed must be true or false"),
    ],
)
def test_bad_facts_are_refused(facts: dict, message: str) -> None:
    with pytest.raises(FactsError, match=message):
        check_facts(facts, now=datetime(2026, 11, 29, tzinfo=UTC))


def test_cybertip_needs_its_required_fields() -> None:
    with pytest.raises(FactsError, match=r"incidentType \(facts: incident\.type\) is required"):
        report_xml({})


def test_missing_key_and_bad_facts_file(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "facts.json"
    bad.write_text("{not json")
    with pytest.raises(FactsError, match="not valid json"):
        load_facts(bad)
    result = vigil("refer", "demo", "--to", "P", "--out", str(tmp_path / "x.zip"),
                   "--key", str(tmp_path / "nokey.pem"), home=home)  # fmt: skip
    assert result.returncode == 2 and "vigil keys generate" in result.stderr
    assert not (tmp_path / "x.zip").exists()
