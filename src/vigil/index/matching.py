"""Matching a file's hashes against the hash sets: exact, PDQ (with dihedral), vPDQ.

One ``Matcher`` serves ``vigil match``, the scan and (later) the service. It asks the
store for exact digests, the catalog's indexes for PDQ and vPDQ, and answers with
``Finding`` records that name the hash set, the entry, its category, the signal type
and the distance. Rules:

* ``ignore`` sets (NSRL and the like) say a file is *known*; they never raise an
  alert (``Finding.kind == "ignore"``; callers show them as known, not as matches).
* PDQ thresholds: the query's ``threshold`` if given, else the set's own
  (``pdq_threshold`` in its attributes), else 31. Queries of quality below
  ``min_quality`` (50, as the reference advises) are not matched by PDQ.
* With ``dihedral`` the eight rotations and flips of the query are searched, and a
  finding records which variant matched.
* vPDQ follows the reference rule (``vigil.signals.vpdq``): query share >= 80% and
  compared share >= 0% by default, both configurable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import HashSetInfo
from vigil.index.catalog import Catalog, split_entry_id
from vigil.signals import signal_type
from vigil.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD
from vigil.signals.vpdq import (
    DEFAULT_COMPARED_MATCH_PERCENT,
    DEFAULT_QUERY_MATCH_PERCENT,
    VpdqFrame,
)

EXACT_TYPES = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class Finding:
    """One hash-set entry that a query matched."""

    hashset: str
    kind: str  # alert, watch, or ignore (= known file)
    entry: int
    signal_type: str
    distance: int
    category: str | None
    category_profile: str | None
    variant: str | None = None  # dihedral variant of the query that matched
    query_percent: float | None = None  # vPDQ only
    compared_percent: float | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; fields that do not apply are null."""
        return asdict(self)


@dataclass(frozen=True)
class MatchOptions:
    """What to match against, and how near is a match."""

    hashsets: tuple[str, ...] = ()  # empty: every set
    threshold: int | None = None  # PDQ distance; None: each set's own, else 31
    dihedral: bool = False
    min_quality: int = PDQ_QUALITY_THRESHOLD
    vpdq_query_percent: float = DEFAULT_QUERY_MATCH_PERCENT
    vpdq_compared_percent: float = DEFAULT_COMPARED_MATCH_PERCENT
    vpdq_frame_threshold: int | None = None


@dataclass
class Query:
    """The hashes of one item; any may be missing."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    pdq_dihedral: dict[str, str] | None = None
    vpdq: list[VpdqFrame] | None = None

    @classmethod
    def of(cls, record: Any) -> Query:
        """The query for a record with hash attributes (FileHashes, ScanItem, ...).

        vPDQ frames may be given as ``{pdq, quality, frame, timestamp}`` dicts (as the
        records serialise them) or as VpdqFrame objects.
        """
        frames = None
        if getattr(record, "vpdq", None):
            frames = [
                f if isinstance(f, VpdqFrame) else
                VpdqFrame(f["pdq"], f["quality"], f.get("frame", 0), f.get("timestamp", 0.0))
                for f in record.vpdq
            ]  # fmt: skip
        return cls(
            md5=record.md5,
            sha1=record.sha1,
            sha256=record.sha256,
            pdq=record.pdq,
            pdq_quality=record.pdq_quality,
            pdq_dihedral=getattr(record, "pdq_dihedral", None),
            vpdq=frames,
        )


class Matcher:
    """Match queries against the selected hash sets of one store."""

    def __init__(self, catalog: Catalog, options: MatchOptions | None = None) -> None:
        """Select the sets (UnknownHashSetError names a missing one)."""
        self.catalog = catalog
        self.options = options or MatchOptions()
        sets = {info.name: info for info in catalog.store.hashsets.list()}
        missing = [n for n in self.options.hashsets if n not in sets]
        if missing:
            known = ", ".join(sorted(sets)) or "none"
            raise UnknownHashSetError(f"no hash set named {missing[0]!r} (sets: {known})")
        chosen = (
            [sets[n] for n in self.options.hashsets] if self.options.hashsets else sets.values()
        )
        self.sets: dict[int, HashSetInfo] = {int(info.id): info for info in chosen if info.id}

    def pdq_threshold(self, info: HashSetInfo) -> int:
        """The PDQ threshold that applies to one set."""
        if self.options.threshold is not None:
            return self.options.threshold
        configured = (info.attributes or {}).get("pdq_threshold")
        return int(configured) if configured is not None else PDQ_MATCH_THRESHOLD

    def match(self, query: Query) -> list[Finding]:
        """Every finding for one item, exact ones first, then by distance."""
        findings = self._exact(query) + self._pdq(query) + self._vpdq(query)
        order = {"md5": 0, "sha1": 1, "sha256": 2, "pdq": 3, "vpdq": 4}
        findings.sort(key=lambda f: (order[f.signal_type], f.distance, f.hashset, f.entry))
        return findings

    def match_hash(self, kind: str, value: str) -> list[Finding]:
        """Findings for a bare hash (``md5``, ``sha1``, ``sha256`` or ``pdq``)."""
        canonical = signal_type(kind).validate(value)
        if kind.lower() == "vpdq":
            from vigil.signals.vpdq import parse_reference_lines

            return self.match(Query(vpdq=parse_reference_lines(canonical.split(";"))))
        return self.match(Query(**{kind.lower(): canonical}))

    # -- the three kinds of signal -----------------------------------------------------

    def _exact(self, query: Query) -> list[Finding]:
        wanted = [(t, v) for t in EXACT_TYPES if (v := getattr(query, t)) is not None]
        out = []
        for hit in self.catalog.store.hashsets.lookup(wanted):
            info = next((i for i in self.sets.values() if i.name == hit.set_name), None)
            if info is None:
                continue
            out.append(
                Finding(
                    info.name,
                    str(info.kind),
                    hit.entry_no,
                    hit.hash_type,
                    0,
                    hit.category,
                    info.category_profile,
                )
            )
        return out

    def _pdq(self, query: Query) -> list[Finding]:
        if query.pdq is None or not self.sets:
            return []
        if query.pdq_quality is not None and query.pdq_quality < self.options.min_quality:
            return []
        variants = {"original": query.pdq}
        if self.options.dihedral and query.pdq_dihedral:
            variants.update(query.pdq_dihedral)
        radius = max(self.pdq_threshold(i) for i in self.sets.values())
        best: dict[int, tuple[int, str]] = {}
        for name, value in variants.items():
            for hit in self.catalog.pdq.query(value, radius):
                if hit.distance < best.get(hit.entry_id, (radius + 1, ""))[0]:
                    best[hit.entry_id] = (hit.distance, name)
        out = []
        for eid, (distance, variant) in best.items():
            set_id, entry_no = split_entry_id(eid)
            info = self.sets.get(set_id)
            if info is None or distance > self.pdq_threshold(info):
                continue
            out.append(
                Finding(
                    info.name,
                    str(info.kind),
                    entry_no,
                    "pdq",
                    distance,
                    self._category(set_id, entry_no),
                    info.category_profile,
                    variant=None if variant == "original" else variant,
                )
            )
        return out

    def _vpdq(self, query: Query) -> list[Finding]:
        if not query.vpdq or not self.sets:
            return []
        out = []
        for hit in self.catalog.vpdq.query(
            query.vpdq,
            self.options.vpdq_frame_threshold,
            query_percent=self.options.vpdq_query_percent,
            compared_percent=self.options.vpdq_compared_percent,
        ):
            set_id, entry_no = split_entry_id(hit.entry_id)
            info = self.sets.get(set_id)
            if info is None:
                continue
            out.append(
                Finding(
                    info.name,
                    str(info.kind),
                    entry_no,
                    "vpdq",
                    round(100 - min(hit.query_percent, hit.compared_percent)),
                    self._category(set_id, entry_no),
                    info.category_profile,
                    query_percent=round(hit.query_percent, 1),
                    compared_percent=round(hit.compared_percent, 1),
                )
            )
        return out

    def _category(self, set_id: int, entry_no: int) -> str | None:
        rows = self.catalog.store.db.execute(
            "SELECT category FROM hash_entries WHERE set_id = ? AND entry_no = ?",
            (set_id, entry_no),
        )
        return rows[0][0] if rows else None
