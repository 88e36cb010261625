"""The review of a case: its analysis, the examiners' decisions and the exposure log.

- ``review_media``: one row per distinct medium of a case (by SHA-256): its
  near-duplicate group and its metadata (EXIF/XMP/container summary and the embedded
  thumbnail's hashes and matches) as JSON. Written by ``vigil.review.analysis`` in
  one transaction, replacing the previous analysis.
- ``review_grades``: every decision, append-only: who (and in which role), which
  medium, which category in which profile, which verdict (``grade`` of an unknown
  medium, ``agree`` or ``dispute`` with a match, ``resolve`` by a lead). A group graded
  at once is one ``batch``; undo marks the reviewer's last batch ``undone_at`` rather
  than deleting it, so nothing an examiner did disappears. The status of a medium
  (pending, awaiting a second reviewer, confirmed, disputed) is derived from these
  rows by ``vigil.review.grading``; it is never stored, so it cannot drift.
- ``review_exposure``: the exposure log, one row per reveal of a clear picture: who,
  which medium, when it started and ended, and how (full or keyhole).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.store.cases import Case
from vigil.store.database import Database

SQLITE = """
CREATE TABLE review_media (
    case_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    grp INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX review_media_grp ON review_media (case_id, grp);
CREATE TABLE review_grades (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    role TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('grade', 'agree', 'dispute', 'resolve')),
    category TEXT,
    profile TEXT NOT NULL,
    batch TEXT NOT NULL,
    at TEXT NOT NULL,
    undone_at TEXT
);
CREATE INDEX review_grades_case ON review_grades (case_id, sha256);
CREATE TABLE review_exposure (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('full', 'keyhole')),
    token_hash TEXT NOT NULL UNIQUE,
    started_at REAL NOT NULL,
    ended_at REAL
);
"""

POSTGRES = (
    SQLITE.replace("id INTEGER PRIMARY KEY AUTOINCREMENT", "id BIGSERIAL PRIMARY KEY")
    .replace("INTEGER", "BIGINT")
    .replace("REAL", "DOUBLE PRECISION")
)


@dataclass(frozen=True)
class Grade:
    """One decision as stored (live or undone)."""

    id: int
    sha256: str
    reviewer: str
    role: str
    verdict: str
    category: str | None
    profile: str
    batch: str
    at: str
    undone_at: str | None


@dataclass(frozen=True)
class Exposure:
    """One reveal of a clear picture: the exposure log's row."""

    id: int
    sha256: str
    reviewer: str
    mode: str
    started_at: float
    ended_at: float | None

    @property
    def seconds(self) -> float | None:
        """How long the picture was shown (None while still shown)."""
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 UTC)."""
        return {
            "reviewer": self.reviewer,
            "sha256": self.sha256,
            "mode": self.mode,
            "started": datetime.fromtimestamp(self.started_at, UTC).isoformat(),
            "seconds": None if self.seconds is None else round(self.seconds, 3),
        }


_GRADE_COLUMNS = "id, sha256, reviewer, role, verdict, category, profile, batch, at, undone_at"
_EXPOSURE_COLUMNS = "id, sha256, reviewer, mode, started_at, ended_at"


class ReviewRepository:
    """Review tables of one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (already migrated)."""
        self.db = db

    # -- analysis ---------------------------------------------------------------------------

    def replace_media(self, case: Case, rows: Iterable[tuple[str, int, dict[str, Any]]]) -> int:
        """Replace the case's analysis with ``(sha256, group, meta)`` rows; how many."""
        with self.db.transaction():
            self.db.execute("DELETE FROM review_media WHERE case_id = ?", (case.id,))
            return self.db.bulk_insert(
                "review_media",
                ("case_id", "sha256", "grp", "meta"),
                (
                    (case.id, sha, int(grp), json.dumps(meta, sort_keys=True))
                    for sha, grp, meta in rows
                ),
            )

    def media(self, case: Case) -> dict[str, tuple[int, dict[str, Any]]]:
        """The case's analysis: SHA-256 -> (group, meta); empty before the first analysis."""
        return {
            sha: (int(grp), json.loads(meta or "{}"))
            for sha, grp, meta in self.db.stream(
                "SELECT sha256, grp, meta FROM review_media WHERE case_id = ?", (case.id,)
            )
        }

    # -- decisions --------------------------------------------------------------------------

    def add_grades(
        self,
        case: Case,
        sha256s: list[str],
        *,
        reviewer: str,
        role: str,
        verdict: str,
        category: str | None,
        profile: str,
        batch: str,
    ) -> int:
        """Record one decision on each medium, as one batch (one transaction); how many."""
        at = datetime.now(UTC).isoformat()
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO review_grades (case_id, sha256, reviewer, role, verdict, category, "
                "profile, batch, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (case.id, sha, reviewer, role, verdict, category, profile, batch, at)
                    for sha in sha256s
                ],
            )
        return len(sha256s)

    def undo_last(self, case: Case, reviewer: str) -> list[Grade]:
        """Mark the reviewer's last live batch undone; the grades it held (empty: nothing)."""
        with self.db.transaction():
            rows = self.db.execute(
                "SELECT batch FROM review_grades WHERE case_id = ? AND reviewer = ? "
                "AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (case.id, reviewer),
            )
            if not rows:
                return []
            batch = rows[0][0]
            undone = self.db.execute(
                "UPDATE review_grades SET undone_at = ? WHERE case_id = ? AND reviewer = ? "
                f"AND batch = ? AND undone_at IS NULL RETURNING {_GRADE_COLUMNS}",
                (datetime.now(UTC).isoformat(), case.id, reviewer, batch),
            )
        return [_grade(r) for r in undone]

    def grades(self, case: Case, *, live_only: bool = True) -> list[Grade]:
        """The case's decisions in the order they were made."""
        where = " AND undone_at IS NULL" if live_only else ""
        return [
            _grade(r)
            for r in self.db.execute(
                f"SELECT {_GRADE_COLUMNS} FROM review_grades WHERE case_id = ?{where} ORDER BY id",
                (case.id,),
            )
        ]

    # -- exposure log -----------------------------------------------------------------------

    def start_exposure(
        self, case: Case, sha256: str, reviewer: str, mode: str, token_hash: str, now: float
    ) -> int:
        """Open an exposure row (a reveal began); its id."""
        rows = self.db.execute(
            "INSERT INTO review_exposure (case_id, sha256, reviewer, mode, token_hash, "
            "started_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (case.id, sha256, reviewer, mode, token_hash, now),
        )
        return int(rows[0][0])

    def open_exposure(self, token_hash: str) -> tuple[int, Exposure] | None:
        """The exposure still open under that token, with its case id (None if ended or none)."""
        rows = self.db.execute(
            f"SELECT case_id, {_EXPOSURE_COLUMNS} FROM review_exposure "
            "WHERE token_hash = ? AND ended_at IS NULL",
            (token_hash,),
        )
        if not rows:
            return None
        return int(rows[0][0]), _exposure(rows[0][1:])

    def end_exposure(self, token_hash: str, reviewer: str, now: float) -> Exposure | None:
        """Close the open exposure of that token (only its own reviewer may); the closed row."""
        rows = self.db.execute(
            f"UPDATE review_exposure SET ended_at = ? WHERE token_hash = ? AND reviewer = ? "
            f"AND ended_at IS NULL RETURNING {_EXPOSURE_COLUMNS}",
            (now, token_hash, reviewer),
        )
        return _exposure(rows[0]) if rows else None

    def close_stale(self, case: Case, before: float, longest: float) -> int:
        """Close exposures left open since before ``before`` (a browser that went away).

        They are closed at the longest a reveal can last (``longest`` seconds after they
        began): the clear picture could not be fetched after that.
        """
        rows = self.db.execute(
            "UPDATE review_exposure SET ended_at = started_at + ? WHERE case_id = ? "
            "AND ended_at IS NULL AND started_at < ? RETURNING id",
            (longest, case.id, before),
        )
        return len(rows)

    def exposures(self, case: Case, reviewer: str | None = None) -> list[Exposure]:
        """The exposure log of a case (one reviewer's, if named), oldest first."""
        sql = f"SELECT {_EXPOSURE_COLUMNS} FROM review_exposure WHERE case_id = ?"
        params: tuple[Any, ...] = (case.id,)
        if reviewer is not None:
            sql += " AND reviewer = ?"
            params += (reviewer,)
        return [_exposure(r) for r in self.db.execute(sql + " ORDER BY id", params)]


def _grade(row: tuple[Any, ...]) -> Grade:
    gid, sha, reviewer, role, verdict, category, profile, batch, at, undone = row
    return Grade(int(gid), sha, reviewer, role, verdict, category, profile, batch, at, undone)


def _exposure(row: tuple[Any, ...]) -> Exposure:
    eid, sha, reviewer, mode, started, ended = row
    return Exposure(
        int(eid), sha, reviewer, mode, float(started), None if ended is None else float(ended)
    )
