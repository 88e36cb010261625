"""The review's use case end to end on both store backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.cli_runner import scan_example, vigil
from tests.review.conftest import Reviewed
from tests.review.evidence import make_evidence
from tests.stores import store_url  # noqa: F401 - the fixture
from vigil.review import service
from vigil.review.accounts import Accounts, User
from vigil.review.export import confirmed_entries
from vigil.review.grading import AWAITING, CONFIRMED
from vigil.review.service import ReviewError, ReviewSession
from vigil.review.thumbs import Look, NoPictureError
from vigil.settings import Settings
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


def test_pictures_inside_archives_are_shown_through_their_locators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("VIGIL_HOME", str(home))
    monkeypatch.delenv("VIGIL_DATABASE_URL", raising=False)
    scan_example(home)
    with open_store(Settings.from_env().store_url) as store:
        review = ReviewSession(store, "demo", cache_root=tmp_path / "cache")
        members = [m for m in review.media.values() if "!/" in m.first.path and m.kind == "image"]
        assert members, "the example evidence holds pictures inside archives"
        for medium in members:
            shown = Image.open(io.BytesIO(review.thumbnail(medium.sha256, Look())))
            assert shown.mode == "L" and max(shown.size) <= 256


@pytest.mark.parametrize(
    ("profile", "key", "category"),
    [
        ("uk-caid", "1", "A"),
        ("uk-caid", "c", "C"),
        ("ncmec-industry", "B2", "B2"),
        ("vics-us", "4", "4"),
    ],
)
def test_keys_grade_in_the_case_profile(
    reviewed: Reviewed, profile: str, key: str, category: str
) -> None:
    store, review = reviewed.session(profile=profile)
    alice = User(1, "alice", "reviewer")
    sha = next(m.sha256 for m in review.media.values() if not m.matched)
    review.decide(alice, [sha], key)
    assert review.statuses()[sha].category == category
    with pytest.raises(ReviewError, match="profile"):
        review.decide(alice, [sha], "Z9")
    store.close()


def test_a_reveal_not_released_expires(reviewed: Reviewed, monkeypatch: pytest.MonkeyPatch) -> None:
    store, review = reviewed.session()
    alice = User(1, "alice", "reviewer")
    sha = next(iter(review.media))
    token = review.start_reveal(alice, sha, "full")
    monkeypatch.setattr(service, "REVEAL_SECONDS", -1.0)  # as if held past the longest reveal
    with pytest.raises(NoPictureError):
        review.open_reveal(alice, token)
    review.start_reveal(alice, sha, "keyhole")  # closes the stale one at the longest duration
    first = review.exposures()[0]
    assert first.ended_at is not None and first.seconds == 0.0  # capped, never negative
    store.close()
