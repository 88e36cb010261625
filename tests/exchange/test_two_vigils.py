"""Two real ``vigil serve`` instances exchanging a set: publish, pull, update, withdraw, feedback.

Instance A publishes its set CONFIRMED to a key it gave B; B subscribes with A's
pinned public key. A hash confirmed on A is matched by B's service after one ``vigil
exchange pull``, with its provenance shown; A's withdrawal stops B's match after the
next pull; B's feedback shows on A per entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import vigil
from tests.web.server import Server, make_keys, wait_for

X = "0123456789abcdef0123456789abcdef"
Y = "fedcba9876543210fedcba9876543210"
PDQ = "f" * 64


def run(*args: str, home: Path) -> str:
    result = vigil(*args, home=home)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


class Pair:
    """Publisher A and subscriber B, each a home, a store and a running service."""

    def __init__(self, tmp_path: Path) -> None:
        self.a_home, self.b_home = tmp_path / "a", tmp_path / "b"
        self.a_url = f"sqlite:///{self.a_home / 'vigil.sqlite3'}"
        self.b_url = f"sqlite:///{self.b_home / 'vigil.sqlite3'}"
        run("keys", "generate", home=self.a_home)
        self.a_keys = make_keys(self.a_url)
        self.b_keys = make_keys(self.b_url)
        self.partner_key = run(
            "apikey", "create", "--role", "matcher", "--name", "partner-b", home=self.a_home
        ).strip()
        self.creds = tmp_path / "b-creds.json"
        self.creds.write_text(json.dumps({"api_key": self.partner_key}))
        self.a = Server(self.a_url, self.a_home)
        self.b = Server(self.b_url, self.b_home)

    def a_curator(self):  # type: ignore[no-untyped-def]
        return self.a.client(self.a_keys["curator"])

    def b_matches(self, md5: str) -> list[dict]:
        with self.b.client(self.b_keys["matcher"]) as c:
            r = c.get("/v1/match", params={"signal_type": "md5", "signal": md5})
            assert r.status_code == 200, r.text
            return r.json()["matches"]

    def subscribe(self, name: str = "fromA", public_key: Path | None = None) -> None:
        run(
            "exchange", "add", name, "--type", "vigil",
            "--url", f"{self.a.base}/v1/feeds/CONFIRMED",
            "--credentials", str(self.creds),
            "--public-key", str(public_key or self.a_home / "keys" / "signing.pub"),
            "--into", "FROM_A",
            home=self.b_home,
        )  # fmt: skip


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    with p.a, p.b:
        with p.a_curator() as c:
            assert c.post("/v1/hashsets", json={"name": "CONFIRMED"}).status_code == 201
            for signals, category in (({"md5": X}, "A1"), ({"md5": Y, "pdq": PDQ}, "B2")):
                r = c.post(
                    "/v1/hashsets/CONFIRMED/entries",
                    json={"signals": signals, "category": category},
                )
                assert r.status_code == 201, r.text
        run("exchange", "publish", "CONFIRMED", "--key", "partner-b", home=p.a_home)
        yield p


def test_confirmed_on_a_is_matched_by_b_after_one_pull(pair):
    pair.subscribe()
    assert pair.b_matches(X) == []
    out = run("exchange", "pull", "fromA", home=pair.b_home)
    assert "2 added" in out
    assert wait_for(lambda: len(pair.b_matches(X)) == 1)
    hit = pair.b_matches(X)[0]
    assert hit["hashset"] == "FROM_A" and hit["category"] == "A1"
    # provenance: the exchange, the partner's id, when it was fetched
    shown = run("hashset", "show", "FROM_A", "--feedback", home=pair.b_home)
    assert "from fromA id " in shown and "fetched 20" in shown
    data = json.loads(run("hashset", "show", "FROM_A", "--feedback", "--json", home=pair.b_home))
    assert {r["provenance"]["exchange"] for r in data["entries_feedback"]} == {"fromA"}
    # the CLI's matcher sees it too
    assert "FROM_A" in run("match", "--hash", f"md5:{X}", home=pair.b_home)
    # a second pull with nothing new changes nothing
    assert "0 added" in run("exchange", "pull", "fromA", home=pair.b_home)


def test_update_and_withdrawal_reach_b(pair):
    pair.subscribe()
    run("exchange", "pull", "fromA", home=pair.b_home)
    with pair.a_curator() as c:
        assert c.post("/v1/hashsets/CONFIRMED/entries/0/disable", json={}).status_code == 200
        r = c.post(
            "/v1/hashsets/CONFIRMED/entries/1/disable", json={}
        )  # Y re-issued with a new category: an update
        assert r.status_code == 200
        r = c.post(
            "/v1/hashsets/CONFIRMED/entries",
            json={"signals": {"md5": Y, "pdq": PDQ}, "category": "A1"},
        )
        assert r.status_code == 201
    out = run("exchange", "pull", "fromA", home=pair.b_home)
    assert "1 withdrawn" in out and "1 updated" in out, out
    assert wait_for(lambda: pair.b_matches(X) == [])
    assert wait_for(lambda: [h["category"] for h in pair.b_matches(Y)] == ["A1"])


def test_feedback_reaches_the_publisher(pair):
    pair.subscribe()
    run("exchange", "pull", "fromA", home=pair.b_home)
    data = json.loads(run("hashset", "show", "FROM_A", "--feedback", "--json", home=pair.b_home))
    ids = {r["entry"]: r["provenance"]["partner_id"] for r in data["entries_feedback"]}
    run(
        "exchange", "feedback", "fromA", ids[0], "--verdict", "false-positive",
        "--note", "benign test pattern", home=pair.b_home,
    )  # fmt: skip
    shown = run("hashset", "show", "CONFIRMED", "--feedback", home=pair.a_home)
    assert "entry 0" in shown
    assert "false-positive from partner-b" in shown and "benign test pattern" in shown
    mine = run("hashset", "show", "FROM_A", "--feedback", home=pair.b_home)
    assert "false-positive sent to fromA" in mine
    # an id the exchange does not hold is refused, nothing recorded
    bad = vigil(
        "exchange", "feedback", "fromA", "nope", "--verdict", "true-positive", home=pair.b_home
    )
    assert bad.returncode == 2 and "holds no entry" in bad.stderr


def test_feed_needs_a_grant(pair):
    with pair.a.client(pair.a_keys["admin"]) as c:
        r = c.get("/v1/feeds/CONFIRMED", params={"nonce": "abcdefgh"})
        assert r.status_code == 404  # not granted to this key, whatever its role
    with pair.a.client(pair.partner_key) as c:
        assert c.get("/v1/feeds").json() == {"feeds": ["CONFIRMED"]}
        r = c.get("/v1/feeds/CONFIRMED", params={"nonce": "abcdefgh", "limit": 1})
        assert r.status_code == 200 and set(r.json()) == {"batch", "signature", "key"}
        batch = json.loads(r.json()["batch"])
        assert batch["feed"] == "CONFIRMED" and batch["nonce"] == "abcdefgh"
        assert batch["cursor"] == 0 and len(batch["items"]) == 1 and batch["has_more"]
        assert "category_profile" in batch
    run("exchange", "unpublish", "CONFIRMED", "--key", "partner-b", home=pair.a_home)
    with pair.a.client(pair.partner_key) as c:
        assert c.get("/v1/feeds/CONFIRMED", params={"nonce": "abcdefgh"}).status_code == 404


def test_wrong_pinned_key_is_refused_and_changes_nothing(pair, tmp_path):
    run("keys", "generate", "--key", str(tmp_path / "other.pem"), home=pair.b_home)
    pair.subscribe(public_key=tmp_path / "other.pub")
    result = vigil("exchange", "pull", "fromA", home=pair.b_home)
    assert result.returncode == 1
    assert "fromA" in result.stderr and "does not verify" in result.stderr
    assert "cursor 0" in result.stderr
    listed = json.loads(run("exchange", "list", "--json", home=pair.b_home))[0]
    assert listed["checkpoint"] is None and listed["last_fetch_ok"] is False
    assert pair.b_matches(X) == []


def test_hma_type_pulls_a_bank_from_vigils_hma_routes(pair, tmp_path):
    """B pulls A's bank through HMA's routes (A standing in for an HMA instance)."""
    with pair.a_curator() as c:
        assert c.post("/c/banks", json={"name": "SHARED_BANK"}).status_code == 201
        added = c.post("/c/bank/SHARED_BANK/signal", json={"pdq": PDQ})
        assert added.status_code == 200, added.text
        content_id = added.json()["id"]
    creds = tmp_path / "hma-creds.json"
    creds.write_text(json.dumps({"api_key": pair.a_keys["matcher"]}))
    run(
        "exchange", "add", "hmaA", "--type", "hma", "--url", pair.a.base,
        "--option", "bank=SHARED_BANK", "--credentials", str(creds), "--into", "FROM_A_HMA",
        home=pair.b_home,
    )  # fmt: skip
    assert "1 added" in run("exchange", "pull", "hmaA", home=pair.b_home)
    with pair.b.client(pair.b_keys["matcher"]) as c:

        def hits() -> list[str]:
            r = c.get("/v1/match", params={"signal_type": "pdq", "signal": PDQ})
            return [m["hashset"] for m in r.json()["matches"]]

        assert wait_for(lambda: hits() == ["FROM_A_HMA"])
        with pair.a_curator() as a:
            r = a.put(f"/c/bank/SHARED_BANK/content/{content_id}", json={"disable_until_ts": 0})
            assert r.status_code == 200, r.text
        assert "1 withdrawn" in run("exchange", "pull", "hmaA", home=pair.b_home)
        assert wait_for(lambda: hits() == [])
