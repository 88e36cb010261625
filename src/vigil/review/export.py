"""New hashes out: the media a review confirmed, as a hash set any receiver reads.

One entry per confirmed medium (exact duplicates are one entry, their file names
listed), with MD5, SHA-1, SHA-256, PDQ (when of usable quality) and vPDQ, and the
category under the review's profile. Media confirmed as "not pertinent" are left
out: a hash set of them would alert on nothing that matters. Written through the
hash-set formats (``vigil.hashsets.formats``), so ``vigil hashset import`` reads the
file back and the next scan finds the media.
"""

from __future__ import annotations

from typing import IO

from vigil import __version__
from vigil.hashsets.formats import get_format
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.review.grading import exportable
from vigil.review.media import ReviewMedium
from vigil.review.service import ReviewSession
from vigil.signals.pdq import PDQ_QUALITY_THRESHOLD
from vigil.signals.vpdq import VpdqFrame, to_reference_lines


def medium_entry(medium: ReviewMedium, category: str | None, reviewers: tuple[str, ...]) -> Entry:
    """A confirmed medium as a hash-set entry."""
    item = medium.first
    vpdq = None
    if item.vpdq:
        frames = [
            VpdqFrame(
                f["pdq"], int(f["quality"]), int(f.get("frame", 0)), float(f.get("timestamp", 0.0))
            )
            for f in item.vpdq
        ]
        vpdq = ";".join(to_reference_lines(frames)) or None
    usable_pdq = item.pdq if item.pdq and (item.pdq_quality or 0) >= PDQ_QUALITY_THRESHOLD else None
    return Entry(
        md5=item.md5,
        sha1=item.sha1,
        sha256=item.sha256,
        pdq=usable_pdq,
        vpdq=vpdq,
        category=category,
        media_size=item.size,
        file_names=tuple(dict.fromkeys(p.path.rsplit("/", 1)[-1] for p in medium.places)),
        comments=f"confirmed in review by {', '.join(reviewers)}",
        extra={"MimeType": item.type},
    )


def confirmed_entries(session: ReviewSession) -> list[Entry]:
    """The confirmed, pertinent media of the review as entries, in walk order."""
    return [
        medium_entry(medium, status.category, status.reviewers)
        for medium, status in session.confirmed()
        if exportable(status, session.profile.name)
    ]


def confirmed_info(session: ReviewSession) -> HashSetInfo:
    """The header of the confirmed set: an alert set in the review's profile."""
    return HashSetInfo(
        name=f"{session.case.name}-confirmed",
        kind=HashSetKind.alert,
        category_profile=session.profile.name,
        provenance=f"Vigil {__version__} review of case {session.case.name}",
        attributes={
            "vics_case": {
                "CaseNumber": session.case.name,
                "ContactName": session.case.examiner or "",
                "SourceApplicationName": "Vigil",
                "SourceApplicationVersion": __version__,
            }
        },
    )


def write_confirmed(session: ReviewSession, format_name: str, out: IO[bytes]) -> int:
    """Write the confirmed media in ``format_name`` to ``out``; how many; audit entry."""
    entries = confirmed_entries(session)
    count = get_format(format_name).write(entries, out, confirmed_info(session))
    session.cases.record(
        session.case,
        "export.confirmed",
        {"format": format_name, "records": count, "profile": session.profile.name},
    )
    return count
