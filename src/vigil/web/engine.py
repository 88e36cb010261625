"""Matching against one snapshot of the indexes, for the service.

``vigil.index.matching.Matcher`` serves the CLI with one store connection; the service
answers many requests at once from a thread pool, each with a store borrowed from the
pool, against an immutable ``Snapshot`` (see ``freshness``). The rules are the same:
per-set PDQ thresholds (``attributes["pdq_threshold"]``, else 31), no PDQ matching for
queries of quality below 50, the vPDQ reference rule. In addition, entries disabled by
a curator (for ever, or until a time) are never returned by any lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import HashSetInfo
from vigil.index.catalog import entry_id, split_entry_id
from vigil.index.matching import Query
from vigil.index.pdq_index import PdqIndex
from vigil.index.vpdq_index import VpdqIndex
from vigil.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD
from vigil.store.database import Database
from vigil.store.hashsets import HASH_TYPE_CODES

EXACT_TYPES = ("md5", "sha1", "sha256")
_ORDER = {"md5": 0, "sha1": 1, "sha256": 2, "pdq": 3, "vpdq": 4}


@dataclass(frozen=True)
class Snapshot:
    """Everything a lookup reads, fixed at one store version; replaced, never changed."""

    version: str
    pdq: PdqIndex
    vpdq: VpdqIndex
    sets: dict[int, HashSetInfo]
    disabled: dict[tuple[int, int], float | None]
    built_at: float

    def set_named(self, name: str) -> HashSetInfo | None:
        """The set called ``name`` in this snapshot."""
        return next((s for s in self.sets.values() if s.name == name), None)

    def select(self, names: Iterable[str] | None) -> dict[int, HashSetInfo]:
        """The sets to match against (all when ``names`` is empty); 404 for an unknown one."""
        wanted = [n for n in (names or ()) if n]
        if not wanted:
            return self.sets
        chosen: dict[int, HashSetInfo] = {}
        for name in wanted:
            info = self.set_named(name)
            if info is None or info.id is None:
                raise UnknownHashSetError(f"no hash set named {name!r}")
            chosen[info.id] = info
        return chosen

    def is_disabled(self, set_id: int, entry_no: int, now: float) -> bool:
        """Whether a curator disabled this entry (and the time it is disabled until is ahead)."""
        key = (set_id, entry_no)
        if key not in self.disabled:
            return False
        until = self.disabled[key]
        return until is None or until > now


@dataclass(frozen=True)
class Hit:
    """One entry a query matched."""

    info: HashSetInfo
    entry_no: int
    signal_type: str
    distance: int
    category: str | None
    variant: str | None = None
    query_percent: float | None = None
    compared_percent: float | None = None

    @property
    def entry_id(self) -> int:
        """The entry's global id (HMA's ``bank_content_id``)."""
        return entry_id(int(self.info.id or 0), self.entry_no)

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by every /v1 route, the match log and webhook events."""
        out: dict[str, Any] = {
            "hashset": self.info.name,
            "kind": str(self.info.kind),
            "entry": self.entry_no,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "category": self.category,
            "category_profile": self.info.category_profile,
        }
        if self.variant:
            out["variant"] = self.variant
        if self.query_percent is not None:
            out["query_percent"] = self.query_percent
            out["compared_percent"] = self.compared_percent
        return out


def pdq_threshold(info: HashSetInfo, override: int | None = None) -> int:
    """The PDQ threshold of one set."""
    if override is not None:
        return override
    configured = (info.attributes or {}).get("pdq_threshold")
    return int(configured) if configured is not None else PDQ_MATCH_THRESHOLD


def surely_no_match(snap: Snapshot, kind: str, value: str, sets: dict[int, HashSetInfo]) -> bool:
    """True when a PDQ hash has no candidate at all within the widest threshold.

    Most lookups on a platform match nothing; answering those from the index alone
    (tens of microseconds, no store connection, no thread hop) is what makes the
    lookup route fast. Anything else goes through ``match``.
    """
    if not sets:
        return True
    if kind != "pdq":
        return False
    radius = max(pdq_threshold(i) for i in sets.values())
    return not snap.pdq.query(value, radius)


def match(
    snap: Snapshot,
    db: Database,
    query: Query,
    sets: dict[int, HashSetInfo],
    *,
    threshold: int | None = None,
    dihedral: bool = False,
) -> list[Hit]:
    """Every live entry of ``sets`` that the query matches: exact first, then by distance."""
    now = time.time()
    hits = _exact(snap, db, query, sets, now)
    if (
        query.pdq is not None
        and sets
        and not (query.pdq_quality is not None and query.pdq_quality < PDQ_QUALITY_THRESHOLD)
    ):
        variants = {"original": query.pdq}
        if dihedral and query.pdq_dihedral:
            variants.update(query.pdq_dihedral)
        radius = max(pdq_threshold(i, threshold) for i in sets.values())
        best: dict[int, tuple[int, str]] = {}
        for name, value in variants.items():
            for found in snap.pdq.query(value, radius):
                if found.distance < best.get(found.entry_id, (radius + 1, ""))[0]:
                    best[found.entry_id] = (found.distance, name)
        hits += _pdq_hits(snap, db, best, sets, threshold, now)
    if query.vpdq and sets:
        hits += _vpdq_hits(snap, db, query, sets, now)
    hits.sort(key=lambda h: (_ORDER[h.signal_type], h.distance, h.info.name, h.entry_no))
    return hits


def match_pdq_many(
    snap: Snapshot,
    db: Database,
    values: list[str],
    sets: dict[int, HashSetInfo],
    threshold: int | None = None,
) -> list[list[Hit]]:
    """PDQ matches of many canonical hashes at once (the batch route)."""
    if not values or not sets:
        return [[] for _ in values]
    radius = max(pdq_threshold(i, threshold) for i in sets.values())
    found = snap.pdq.query_many(values, radius)
    now = time.time()
    out: list[list[Hit]] = [[] for _ in values]
    for q in np.unique(found.query).tolist():
        best = {m.entry_id: (m.distance, "original") for m in found.for_query(int(q))}
        out[int(q)] = _pdq_hits(snap, db, best, sets, threshold, now)
    return out


def _exact(
    snap: Snapshot, db: Database, query: Query, sets: dict[int, HashSetInfo], now: float
) -> list[Hit]:
    hits = []
    for kind in EXACT_TYPES:
        value = getattr(query, kind)
        if value is None:
            continue
        for set_id, entry_no, category in db.execute(
            "SELECT set_id, entry_no, category FROM hash_index WHERE hash_type = ? AND digest = ?",
            (HASH_TYPE_CODES[kind], bytes.fromhex(value)),
        ):
            info = sets.get(int(set_id))
            if info is None or snap.is_disabled(int(set_id), int(entry_no), now):
                continue
            hits.append(Hit(info, int(entry_no), kind, 0, category))
    return hits


def _pdq_hits(
    snap: Snapshot,
    db: Database,
    best: dict[int, tuple[int, str]],
    sets: dict[int, HashSetInfo],
    threshold: int | None,
    now: float,
) -> list[Hit]:
    hits = []
    for eid, (distance, variant) in best.items():
        set_id, entry_no = split_entry_id(int(eid))
        info = sets.get(set_id)
        if info is None or distance > pdq_threshold(info, threshold):
            continue
        if snap.is_disabled(set_id, entry_no, now):
            continue
        hits.append(
            Hit(
                info,
                entry_no,
                "pdq",
                int(distance),
                _category(db, set_id, entry_no),
                variant=None if variant == "original" else variant,
            )
        )
    return hits


def _vpdq_hits(
    snap: Snapshot, db: Database, query: Query, sets: dict[int, HashSetInfo], now: float
) -> list[Hit]:
    hits = []
    for found in snap.vpdq.query(query.vpdq or []):
        set_id, entry_no = split_entry_id(found.entry_id)
        info = sets.get(set_id)
        if info is None or snap.is_disabled(set_id, entry_no, now):
            continue
        hits.append(
            Hit(
                info,
                entry_no,
                "vpdq",
                round(100 - min(found.query_percent, found.compared_percent)),
                _category(db, set_id, entry_no),
                query_percent=round(found.query_percent, 1),
                compared_percent=round(found.compared_percent, 1),
            )
        )
    return hits


def _category(db: Database, set_id: int, entry_no: int) -> str | None:
    rows = db.execute(
        "SELECT category FROM hash_entries WHERE set_id = ? AND entry_no = ?", (set_id, entry_no)
    )
    return rows[0][0] if rows else None
