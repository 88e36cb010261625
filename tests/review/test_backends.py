"""The review's use case end to end on both store backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import vigil
from tests.review.evidence import make_evidence
from tests.stores import store_url  # noqa: F401 - the fixture
from vigil.review.accounts import Accounts
from vigil.review.export import confirmed_entries
from vigil.review.grading import AWAITING, CONFIRMED
from vigil.review.service import ReviewSession
from vigil.store import open_store


def test_review_on_each_backend(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "home"
    files = make_evidence(tmp_path)
    for args in (
        ("hashset", "import", str(files["hashset"]), "--name", "KNOWN"),
        ("scan", str(tmp_path / "evidence"), "--case", "c1"),
    ):
        done = vigil(*args, home=home, database_url=store_url)
        assert done.returncode == 0, done.stderr
    with open_store(store_url) as store:
        accounts = Accounts(store)
        alice = accounts.add("alice", "reviewer", "correct horse battery")
        bob = accounts.add("bob", "reviewer", "correct horse battery")
        review = ReviewSession(store, "c1", cache_root=tmp_path / "cache")
        assert review.analysed and len(review.groups) == 5  # a+a-small, b, c, d, e+e-small
        again = ReviewSession(store, "c1", cache_root=tmp_path / "cache")  # the stored analysis
        assert {m.sha256: m.group for m in again.media.values()} == {
            m.sha256: m.group for m in review.media.values()
        }
        assert any(m.meta.get("thumbnail_match") for m in again.media.values())
        group = next(g for g in review.queue("unknown", alice) if len(g.members) == 2)
        shas = [m.sha256 for m in group.members]
        review.decide(alice, shas, "1")
        assert {review.statuses()[s].state for s in shas} == {AWAITING}
        review.decide(bob, shas, "1")
        assert {review.statuses()[s].state for s in shas} == {CONFIRMED}
        assert {e.sha256 for e in confirmed_entries(review)} == set(shas)
        token = review.start_reveal(alice, shas[0], "full")
        assert review.open_reveal(alice, token) == (shas[0], "full")
        assert review.end_reveal(alice, token) is not None
        assert [e.reviewer for e in review.exposures()] == ["alice"]
