"""Each exchange type against a fake partner on 127.0.0.1 answering like its documented API.

NCMEC, StopNCII and ThreatExchange are reached through python-threatexchange's own
clients (pointed at the fake by ``--url``); HMA through its bank content routes; a
file by its path. Each test pulls, checks what matches, pulls a change (update or
withdrawal), and where the type allows, sends feedback or pushes.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import vigil
from tests.exchange.fakes import FakeServer, Request, as_json

MD5_A = "a1" * 16
MD5_B = "b2" * 16
SHA1_A = "c3" * 20
PDQ = "d4" * 32


def run(*args: str, home: Path) -> str:
    result = vigil(*args, home=home)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def matched(home: Path, kind: str, value: str) -> list[dict]:
    out = run("match", "--hash", f"{kind}:{value}", "--json", home=home)
    return [m for line in out.splitlines() if line for m in json.loads(line).get("matches", [])]


def creds(tmp_path: Path, **values: str) -> str:
    path = tmp_path / "creds.json"
    path.write_text(json.dumps(values))
    return str(path)


# -- NCMEC -----------------------------------------------------------------------------

NCMEC_PAGE1 = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
    <images count="2" maxTimestamp="2026-10-24T15:10:00Z">
        <image>
            <member id="42">Example Member</member>
            <timestamp>2026-10-24T15:00:00Z</timestamp>
            <id>image1</id>
            <classification>A1</classification>
            <fingerprints><md5>{md5}</md5><sha1>{sha1}</sha1><pdna>abc...</pdna></fingerprints>
        </image>
        <deletedImage>
            <member id="43">Example Member2</member>
            <id>image4</id>
            <timestamp>2026-10-24T15:10:00Z</timestamp>
        </deletedImage>
    </images>
    <paging><next>/v2/entries?from=x&amp;to=y&amp;start=2001&amp;size=1000&amp;max=3000</next></paging>
</queryResult>"""

NCMEC_PAGE2 = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
    <videos count="1" maxTimestamp="2026-10-24T15:20:00Z">
        <video>
            <member id="42">Example Member</member>
            <timestamp>2026-10-24T15:00:00Z</timestamp>
            <id>video1</id>
            <fingerprints><md5>{md5}</md5></fingerprints>
        </video>
    </videos>
</queryResult>"""

NCMEC_DELETE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
    <images count="1" maxTimestamp="2026-10-25T15:10:00Z">
        <deletedImage>
            <member id="42">Example Member</member>
            <id>image1</id>
            <timestamp>2026-10-25T15:10:00Z</timestamp>
        </deletedImage>
    </images>
</queryResult>"""


def xml(text: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/xml"}, text.encode()


def test_ncmec(tmp_path):
    state = {"round": 1}

    def ncmec(req: Request):
        assert req.headers["authorization"].startswith("Basic ")
        if req.method == "PUT" and req.path.endswith("/feedback"):
            return 200, {}, b""
        if req.path == "/v2/entries" and "start" in req.query:
            return xml(NCMEC_PAGE2.format(md5=MD5_B))
        if req.path == "/v2/entries":
            if state["round"] == 2:
                return xml(NCMEC_DELETE)
            return xml(NCMEC_PAGE1.format(md5=MD5_A, sha1=SHA1_A))
        return 404, {}, b""

    home = tmp_path / "home"
    with FakeServer(ncmec) as fake:
        run(
            "exchange", "add", "ncmec", "--type", "ncmec", "--url", fake.url,
            "--credentials", creds(tmp_path, user="u", password="p"), "--into", "NCMEC",
            home=home,
        )  # fmt: skip
        out = run("exchange", "pull", "ncmec", home=home)
        assert "2 added" in out
        hits = matched(home, "md5", MD5_A)
        assert [(h["hashset"], h["category"]) for h in hits] == [("NCMEC", "A1")]
        assert matched(home, "sha1", SHA1_A) and matched(home, "md5", MD5_B)
        shown = json.loads(run("hashset", "show", "NCMEC", "--json", home=home))
        assert shown["category_profile"] == "ncmec-industry"
        run("exchange", "feedback", "ncmec", "42-image1", "--verdict", "true-positive", home=home)
        put = [r for r in fake.requests if r.method == "PUT"]
        assert {r.path for r in put} == {
            "/v2/entries/42/image1/MD5/feedback",
            "/v2/entries/42/image1/SHA1/feedback",
        }
        assert b"affirmative" in put[0].body
        state["round"] = 2
        assert "1 withdrawn" in run("exchange", "pull", "ncmec", home=home)
        assert matched(home, "md5", MD5_A) == [] and matched(home, "md5", MD5_B)


def test_ncmec_garbage_leaves_set_and_checkpoint(tmp_path):
    answer = {"body": NCMEC_PAGE2.format(md5=MD5_B)}

    def ncmec(req: Request):
        return xml(answer["body"])

    home = tmp_path / "home"
    with FakeServer(ncmec) as fake:
        run(
            "exchange", "add", "ncmec", "--type", "ncmec", "--url", fake.url,
            "--credentials", creds(tmp_path, user="u", password="p"), home=home,
        )  # fmt: skip
        run("exchange", "pull", "ncmec", home=home)
        before = json.loads(run("exchange", "list", "--json", home=home))[0]["checkpoint"]
        answer["body"] = "<queryResult><images count='1' maxTimestamp='garbage'>"
        result = vigil("exchange", "pull", "ncmec", home=home)
        assert result.returncode == 1
        assert "exchange ncmec: entries from" in result.stderr
        after = json.loads(run("exchange", "list", "--json", home=home))[0]
        assert after["checkpoint"] == before and after["last_fetch_ok"] is False
        assert matched(home, "md5", MD5_B)


# -- StopNCII --------------------------------------------------------------------------


def record(value: str, status: str = "Active", kind: str = "ImagePDQ") -> dict:
    return {
        "lastModtimestamp": 1,
        "signalType": kind,
        "hashValue": value,
        "hashStatus": status,
        "caseNumbers": {},
        "CSPFeedbacks": [],
    }


def test_stopncii(tmp_path):
    pages = {
        "": {"count": 2, "nextPageToken": "p2", "nextSetTimestamp": 0, "hasMoreRecords": True,
             "hashRecords": [record(PDQ)]},
        "p2": {"count": 2, "nextPageToken": None, "nextSetTimestamp": 100,
               "hasMoreRecords": False, "hashRecords": [record(MD5_A, kind="VideoMD5")]},
    }  # fmt: skip
    later = {"count": 1, "nextPageToken": None, "nextSetTimestamp": 200, "hasMoreRecords": False,
             "hashRecords": [record(PDQ, status="Withdrawn")]}  # fmt: skip

    def api(req: Request):
        assert req.headers["ocp-apim-subscription-key"] == "sub"
        if req.path == "/v1/FetchHashes":
            if req.query["startTimestamp"] == "100":
                return as_json(later)
            return as_json(pages[req.query.get("nextPageToken", "")])
        if req.path in ("/v1/SubmitFeedback", "/v1/SubmitHashes"):
            return as_json({})
        return as_json({"message": "no"}, 404)

    home = tmp_path / "home"
    with FakeServer(api) as fake:
        run(
            "exchange", "add", "ncii", "--type", "stopncii", "--url", f"{fake.url}/v1",
            "--credentials", creds(tmp_path, subscription_key="sub", fetch_function_key="f",
                                   feedback_function_key="fb", submit_function_key="s"),
            home=home,
        )  # fmt: skip
        assert "2 added" in run("exchange", "pull", "ncii", home=home)
        assert matched(home, "pdq", PDQ) and matched(home, "md5", MD5_A)
        run(
            "exchange", "feedback", "ncii", f"ImagePDQ:{PDQ}", "--verdict", "false-positive",
            home=home,
        )  # fmt: skip
        sent = next(r for r in fake.requests if r.path == "/v1/SubmitFeedback").json()
        assert sent["hashFeedbacks"][0]["feedbackValue"] == "NotBlocked"
        assert "1 withdrawn" in run("exchange", "pull", "ncii", home=home)
        assert matched(home, "pdq", PDQ) == []
        assert "sent 1 entries" in run("exchange", "push", "ncii", "--hashset", "ncii", home=home)
        pushed = next(r for r in fake.requests if r.path == "/v1/SubmitHashes").json()
        assert [h["hashValue"] for h in pushed["hashRecords"]] == [MD5_A]


# -- ThreatExchange --------------------------------------------------------------------


def test_threatexchange(tmp_path):
    def graph(req: Request):
        assert req.path == "/303636684709969/threat_updates/"
        if req.query.get("page") == "2":
            return as_json({"data": [
                {"id": "2", "indicator": MD5_A, "type": "HASH_MD5", "should_delete": False,
                 "last_updated": 10, "tags": []},
                {"id": "3", "indicator": "http://example.test", "type": "URI",
                 "should_delete": False, "last_updated": 10, "tags": []},
            ]})  # fmt: skip
        return as_json({
            "data": [{"id": "1", "indicator": PDQ, "type": "HASH_PDQ", "should_delete": False,
                      "last_updated": 5, "tags": []}],
            "paging": {"next": f"{fake.url}/303636684709969/threat_updates/?page=2"},
        })  # fmt: skip

    home = tmp_path / "home"
    with FakeServer(graph) as fake:
        run(
            "exchange", "add", "te", "--type", "threatexchange", "--url", fake.url,
            "--option", "privacy_group=303636684709969",
            "--credentials", creds(tmp_path, api_token="1234567890|abcdefghijklmnopqrstuv"),
            home=home,
        )  # fmt: skip
        assert "2 added" in run("exchange", "pull", "te", home=home)
        assert matched(home, "pdq", PDQ) and matched(home, "md5", MD5_A)
        cp = json.loads(run("exchange", "list", "--json", home=home))[0]["checkpoint"]
        assert set(cp) == {"start"}


# -- HMA -------------------------------------------------------------------------------


def test_hma(tmp_path):
    bank = {
        3: {"id": 3, "disable_until_ts": 1, "signals": {"pdq": PDQ}},
        4: {"id": 4, "disable_until_ts": 1, "signals": {"video_md5": MD5_A}, "note": "n"},
    }

    def hma(req: Request):
        if req.method == "POST" and req.path == "/c/bank/PARTNER_BANK/signal":
            return as_json({"id": 99, "signals": req.json()})
        parts = req.path.split("/")
        if req.path.startswith("/c/bank/PARTNER_BANK/content/") and int(parts[-1]) in bank:
            assert req.query["include_signals"] == "true"
            return as_json(bank[int(parts[-1])])
        return as_json({"message": "content not found"}, 404)

    home = tmp_path / "home"
    with FakeServer(hma) as fake:
        run(
            "exchange", "add", "hma", "--type", "hma", "--url", fake.url,
            "--option", "bank=PARTNER_BANK", "--option", "gap=5", home=home,
        )  # fmt: skip
        assert "2 added" in run("exchange", "pull", "hma", home=home)
        assert matched(home, "pdq", PDQ) and matched(home, "md5", MD5_A)
        bank[3]["disable_until_ts"] = 0  # disabled in HMA: withdrawn here
        del bank[4]  # deleted in HMA
        bank[7] = {"id": 7, "disable_until_ts": 1, "signals": {"video_md5": MD5_B}}
        out = run("exchange", "pull", "hma", home=home)
        assert "2 withdrawn" in out and "1 added" in out, out
        assert matched(home, "pdq", PDQ) == [] and matched(home, "md5", MD5_A) == []
        assert matched(home, "md5", MD5_B)
        assert "sent 1 entries" in run("exchange", "push", "hma", "--hashset", "hma", home=home)
        pushed = next(r for r in fake.requests if r.method == "POST").json()
        assert pushed == {"video_md5": MD5_B}


# -- file ------------------------------------------------------------------------------


def test_file(tmp_path):
    listing = tmp_path / "partner.md5"
    listing.write_text(f"{MD5_A}\n{MD5_B}\n")
    home = tmp_path / "home"
    run("exchange", "add", "f", "--type", "file", "--url", str(listing), home=home)
    assert "2 added" in run("exchange", "pull", "f", home=home)
    assert "0 records" in run("exchange", "pull", "f", home=home)  # unchanged: not read
    listing.write_text(f"{MD5_B}\n")
    assert "1 withdrawn" in run("exchange", "pull", "f", home=home)
    assert matched(home, "md5", MD5_A) == [] and matched(home, "md5", MD5_B)
    out_file = tmp_path / "out.csv"
    run("exchange", "add", "out", "--type", "file", "--url", str(out_file), home=home)
    assert "sent 1 entries" in run("exchange", "push", "out", "--hashset", "f", home=home)
    assert MD5_B in out_file.read_text() and MD5_A not in out_file.read_text()


def test_usage_errors(tmp_path):
    home = tmp_path / "home"
    bad = vigil("exchange", "add", "x", "--type", "nope", "--url", "http://h", home=home)
    assert bad.returncode == 2 and "unknown exchange type" in bad.stderr
    bad = vigil("exchange", "add", "x", "--type", "vigil", "--url", "http://h/", home=home)
    assert bad.returncode == 2 and "/v1/feeds/" in bad.stderr
    bad = vigil("exchange", "add", "x", "--type", "hma", "--url", "http://h", home=home)
    assert bad.returncode == 2 and "bank=" in bad.stderr
    bad = vigil("exchange", "pull", "missing", home=home)
    assert bad.returncode == 2 and "no exchange named" in bad.stderr
    run("exchange", "add", "n", "--type", "ncmec", home=home)
    bad = vigil("exchange", "pull", "n", home=home)
    assert bad.returncode == 2 and "--credentials" in bad.stderr


def test_threatexchange_timeout_is_an_error_not_a_hang(tmp_path, monkeypatch):
    import time

    from vigil.exchange import threatexchange

    monkeypatch.setattr(threatexchange, "TIMEOUT", 0.5)

    def slow(req: Request):
        time.sleep(2)
        return as_json({"data": []})

    home = tmp_path / "home"
    with FakeServer(slow) as fake:
        run(
            "exchange", "add", "te", "--type", "threatexchange", "--url", fake.url,
            "--option", "privacy_group=1",
            "--credentials", creds(tmp_path, api_token="1234567890|abcdefghijklmnopqrstuv"),
            home=home,
        )  # fmt: skip
        result = vigil("exchange", "pull", "te", home=home)
    assert result.returncode == 1 and "exchange te: updates from 0" in result.stderr
    assert "Timeout" in result.stderr
