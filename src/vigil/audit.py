"""A hash-chained audit log: who did what to a case, and when, provably unedited.

Each entry carries the SHA-256 of the entry before it, and its own hash covers its
content and that link. Editing an entry changes its hash; removing, inserting or
reordering entries breaks a link or the sequence; ``verify_chain`` names the entry
where each break is. Truncating the end of a log leaves a valid shorter chain, so the
head hash (``head``) is printed by ``vigil audit`` for the examiner to record in notes
or a signed report: a later head that does not descend from it shows the truncation.

Storage is the store's business; this module is the chain's arithmetic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One action on a case."""

    seq: int
    at: str  # ISO 8601, UTC
    actor: str
    action: str
    case: str | None
    details: dict[str, Any] = field(default_factory=dict)
    prev: str = GENESIS
    hash: str = ""

    def content_hash(self) -> str:
        """SHA-256 of everything but ``hash``, in a canonical JSON form."""
        body = asdict(self)
        body.pop("hash")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    last: AuditEntry | None,
    *,
    actor: str,
    action: str,
    case: str | None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """The entry that follows ``last`` (None for the first entry of a log)."""
    moment = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    draft = AuditEntry(
        seq=1 if last is None else last.seq + 1,
        at=moment,
        actor=actor,
        action=action,
        case=case,
        details=dict(details or {}),
        prev=GENESIS if last is None else last.hash,
    )
    return AuditEntry(**{**asdict(draft), "hash": draft.content_hash()})


def verify_chain(entries: list[AuditEntry]) -> list[str]:
    """Every break in the chain, as messages naming the entry; empty when intact."""
    problems: list[str] = []
    previous: AuditEntry | None = None
    for position, entry in enumerate(entries, start=1):
        label = f"entry {entry.seq} (position {position})"
        if entry.content_hash() != entry.hash:
            problems.append(f"{label}: edited (its hash does not match its content)")
        expected_seq = 1 if previous is None else previous.seq + 1
        if entry.seq != expected_seq:
            if previous is not None and entry.seq > expected_seq:
                problems.append(
                    f"{label}: entries {expected_seq}..{entry.seq - 1} are missing (removed)"
                )
            else:
                problems.append(
                    f"{label}: out of sequence after entry "
                    f"{previous.seq if previous else 0} (inserted or reordered)"
                )
        expected_prev = GENESIS if previous is None else previous.hash
        if entry.prev != expected_prev:
            problems.append(
                f"{label}: does not link to the entry before it "
                "(an entry was removed, inserted or reordered)"
            )
        previous = entry
    return problems


def head(entries: list[AuditEntry]) -> str:
    """The hash of the last entry: record it to detect a later truncation."""
    return entries[-1].hash if entries else GENESIS
