"""The audit chain detects edited, removed, inserted and reordered entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from vigil.audit import GENESIS, append, head, verify_chain


def log(n: int = 6) -> list:
    entries = []
    for i in range(n):
        entries.append(
            append(
                entries[-1] if entries else None,
                actor="examiner@example.org",
                action=["scan.start", "scan.stop", "scan.resume", "export", "refer", "review"][
                    i % 6
                ],
                case="CASE-1",
                details={"i": i},
                at=datetime(2026, 11, 29, 12, 0, i, tzinfo=UTC),
            )
        )
    return entries


def test_an_intact_chain() -> None:
    entries = log()
    assert verify_chain(entries) == []
    assert entries[0].prev == GENESIS and entries[1].prev == entries[0].hash
    assert head(entries) == entries[-1].hash and head([]) == GENESIS


def test_edited_entry() -> None:
    entries = log()
    entries[2] = replace(entries[2], details={"i": 99})
    assert verify_chain(entries) == [
        "entry 3 (position 3): edited (its hash does not match its content)"
    ]


def test_edited_and_rehashed_entry_breaks_the_next_link() -> None:
    entries = log()
    forged = replace(entries[2], actor="someone else")
    entries[2] = replace(forged, hash=forged.content_hash())
    problems = verify_chain(entries)
    assert problems == [
        "entry 4 (position 4): does not link to the entry before it "
        "(an entry was removed, inserted or reordered)"
    ]


def test_removed_entry() -> None:
    entries = log()
    del entries[3]
    problems = verify_chain(entries)
    assert "entry 5 (position 4): entries 4..4 are missing (removed)" in problems


def test_inserted_entry() -> None:
    entries = log()
    intruder = append(entries[1], actor="x", action="export", case="CASE-1")
    entries.insert(2, intruder)
    problems = verify_chain(entries)
    assert any(p.startswith("entry 3 (position 4): out of sequence") for p in problems)


def test_reordered_entries() -> None:
    entries = log()
    entries[1], entries[2] = entries[2], entries[1]
    problems = verify_chain(entries)
    assert problems and all(
        "position 2" in p or "position 3" in p or "position 4" in p for p in problems
    )
