"""The four-eyes rule and the statuses, from decisions alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vigil.review.grading import (
    AWAITING,
    CONFIRMED,
    DISPUTED,
    PENDING,
    exportable,
    status_of,
)
from vigil.store.review import Grade

_ids = iter(range(1, 10**9))


def g(reviewer: str, verdict: str, category: str | None, undone: bool = False) -> Grade:
    return Grade(
        next(_ids), "s" * 64, reviewer, "reviewer", verdict, category, "vics-us", "b",
        "2026-01-01", "2026-01-02" if undone else None,
    )  # fmt: skip


def test_unknown_needs_two_reviewers_who_agree() -> None:
    assert status_of([], None, False).state == PENDING
    one = status_of([g("alice", "grade", "1")], None, False)
    assert (one.state, one.category) == (AWAITING, "1")
    assert one.graded_by("alice") and not one.graded_by("bob")
    both = status_of([g("alice", "grade", "1"), g("bob", "grade", "1")], None, False)
    assert (both.state, both.category, both.reviewers) == (CONFIRMED, "1", ("alice", "bob"))
    apart = status_of([g("alice", "grade", "1"), g("bob", "grade", "2")], None, False)
    assert apart.state == DISPUTED and apart.proposals == (("alice", "1"), ("bob", "2"))
    lead = Grade(0, "s" * 64, "lena", "lead", "resolve", "2", "vics-us", "c", "t", None)
    settled = status_of([g("alice", "grade", "1"), g("bob", "grade", "2"), lead], None, False)
    assert (settled.state, settled.category) == (CONFIRMED, "2")


def test_undone_grades_do_not_count() -> None:
    grades = [g("alice", "grade", "1"), g("bob", "grade", "1", undone=True)]
    assert status_of(grades, None, False).state == AWAITING


def test_matched_media_are_confirmed_by_one_agreement_or_disputed() -> None:
    assert status_of([], "1", True).state == PENDING
    agreed = status_of([g("alice", "agree", "1")], "1", True)
    assert (agreed.state, agreed.category) == (CONFIRMED, "1")
    assert status_of([g("alice", "dispute", "2")], "1", True).state == DISPUTED


def test_not_pertinent_is_confirmed_but_not_exported() -> None:
    both = status_of([g("alice", "grade", "0"), g("bob", "grade", "0")], None, False)
    assert both.state == CONFIRMED and not exportable(both, "vics-us")
    assert exportable(
        status_of([g("a", "grade", "1"), g("b", "grade", "1")], None, False), "vics-us"
    )


@given(st.lists(st.tuples(st.sampled_from(["0", "1", "2", "3"]), st.booleans()), max_size=20))
def test_one_reviewer_alone_never_confirms_an_unknown_medium(
    decisions: list[tuple[str, bool]],
) -> None:
    grades = [g("alice", "grade", category, undone) for category, undone in decisions]
    assert status_of(grades, None, False).state in (PENDING, AWAITING)
