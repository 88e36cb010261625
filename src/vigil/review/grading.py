"""The rules that turn examiners' decisions into a medium's status: the four-eyes rule.

Kept apart from storage and the web so that they can be read, and tested, in one
place. The status is always derived from the decisions (``store.review``), never
stored:

- A *matched* medium (a hash set listed it) is confirmed when a reviewer agrees with
  the listed category; a reviewer who disputes it sends it to a lead. Confirming a
  hash match needs one pair of eyes: the hash set is the first.
- An *unknown* medium becomes confirmed only when two different reviewers gave it the
  same category (the four-eyes rule); one reviewer grading it twice still counts
  once (their latest grade counts). Two reviewers who disagree send it to a lead.
- A lead's ``resolve`` settles a disputed medium with the lead's category; it is the
  last word (until the lead undoes it).

Undone decisions (``undone_at``) do not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vigil.store.review import Grade

PENDING = "pending"  # nobody decided yet
AWAITING = "awaiting second"  # one reviewer graded an unknown medium
CONFIRMED = "confirmed"
DISPUTED = "disputed"  # for a lead

#: Categories that mean "not pertinent" in a profile: confirmed, but never exported
#: as hashes to alert on.
NON_PERTINENT: dict[str, set[str]] = {"vics-us": {"0"}}


@dataclass(frozen=True)
class Status:
    """Where one medium stands."""

    state: str
    category: str | None = None
    reviewers: tuple[str, ...] = ()
    #: Each reviewer's latest decision (reviewer, category): what a lead weighs.
    proposals: tuple[tuple[str, str | None], ...] = ()

    def graded_by(self, name: str) -> bool:
        """Whether ``name`` already decided on this medium."""
        return name in self.reviewers


def status_of(grades: Iterable[Grade], listed_category: str | None, matched: bool) -> Status:
    """The status of one medium from its live decisions, in the order they were made."""
    latest: dict[str, Grade] = {}
    resolved: Grade | None = None
    for grade in grades:
        if grade.undone_at is not None:
            continue
        if grade.verdict == "resolve":
            resolved = grade
        else:
            latest[grade.reviewer] = grade
    reviewers = tuple(latest)
    if resolved is not None:
        return Status(CONFIRMED, resolved.category, (*reviewers, resolved.reviewer))
    proposals = tuple((g.reviewer, g.category) for g in latest.values())
    if not latest:
        return Status(PENDING, listed_category if matched else None, reviewers)
    if matched:
        disputed = [g for g in latest.values() if g.verdict == "dispute"]
        if disputed:
            return Status(DISPUTED, listed_category, reviewers, proposals)
        category = next((g.category for g in latest.values() if g.category), listed_category)
        return Status(CONFIRMED, category, reviewers, proposals)
    categories = {g.category for g in latest.values()}
    if len(categories) > 1:
        return Status(DISPUTED, None, reviewers, proposals)
    (category,) = categories
    if len(latest) >= 2:
        return Status(CONFIRMED, category, reviewers, proposals)
    return Status(AWAITING, category, reviewers, proposals)


def exportable(status: Status, profile: str) -> bool:
    """Whether a confirmed medium goes into the confirmed hash set (not "not pertinent")."""
    return (
        status.state == CONFIRMED
        and status.category is not None
        and status.category not in NON_PERTINENT.get(profile, set())
    )
