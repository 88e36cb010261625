"""The review tables on both backends: analysis rows, decisions with undo, the exposure log."""

from __future__ import annotations

from tests.stores import store_url  # noqa: F401 - the fixture
from vigil.services.cases import CaseService
from vigil.store import open_store
from vigil.store.review import ReviewRepository


def test_review_repository(store_url: str) -> None:  # noqa: F811
    with open_store(store_url) as store:
        case, _ = CaseService(store).open("c")
        other, _ = CaseService(store).open("other")
        repo = ReviewRepository(store.db)
        assert repo.media(case) == {}
        assert (
            repo.replace_media(case, [("a" * 64, 1, {"exif": {"serial": "S"}}), ("b" * 64, 1, {})])
            == 2
        )
        assert repo.replace_media(case, [("a" * 64, 2, {})]) == 1  # replaces
        assert repo.media(case) == {"a" * 64: (2, {})} and repo.media(other) == {}

        common = {"role": "reviewer", "profile": "vics-us"}
        repo.add_grades(case, ["a" * 64, "b" * 64], reviewer="alice", verdict="grade",
                        category="1", batch="one", **common)  # fmt: skip
        repo.add_grades(case, ["a" * 64], reviewer="alice", verdict="grade", category="2",
                        batch="two", **common)  # fmt: skip
        repo.add_grades(case, ["a" * 64], reviewer="bob", verdict="grade", category="2",
                        batch="three", **common)  # fmt: skip
        undone = repo.undo_last(case, "alice")
        assert [(g.sha256, g.batch) for g in undone] == [("a" * 64, "two")]
        live = repo.grades(case)
        assert [(g.reviewer, g.batch) for g in live] == [
            ("alice", "one"),
            ("alice", "one"),
            ("bob", "three"),
        ]
        assert len(repo.grades(case, live_only=False)) == 4
        assert repo.undo_last(other, "alice") == []

        started = repo.start_exposure(case, "a" * 64, "alice", "full", "t1", 100.0)
        assert started > 0
        case_id, open_row = repo.open_exposure("t1")  # type: ignore[misc]
        assert case_id == case.id and open_row.seconds is None
        assert repo.end_exposure("t1", "bob", 101.0) is None  # only its own examiner ends it
        ended = repo.end_exposure("t1", "alice", 102.5)
        assert ended is not None and ended.seconds == 2.5 and repo.open_exposure("t1") is None
        repo.start_exposure(case, "b" * 64, "bob", "keyhole", "t2", 50.0)
        assert repo.close_stale(case, 60.0, 120.0) == 1
        rows = repo.exposures(case)
        assert [(r.reviewer, r.mode, r.seconds) for r in rows] == [
            ("alice", "full", 2.5), ("bob", "keyhole", 120.0),
        ]  # fmt: skip
        assert [r.reviewer for r in repo.exposures(case, "bob")] == ["bob"]
        assert rows[0].to_json()["started"].startswith("1970-01-01T00:01:40")
