"""The one matcher: hashes against the hash sets, for the scan, ``vigil match`` and the service.

Everything a lookup reads is fixed in one immutable ``Snapshot`` (the sets with their
kinds and thresholds, the entries a curator disabled, the PDQ and vPDQ indexes, at one
store version); a ``Matcher`` answers queries against a snapshot and one store
connection for the exact digests and the entries' categories. The CLI builds one
snapshot per run (``open_snapshot``); the service swaps in a new one when the store
changes (``vigil.web.freshness``) and builds a cheap ``Matcher`` per request. The
rules live here once:

* ``ignore`` sets (NSRL and the like) say a file is *known*; they never raise an alert
  (``Finding.kind == "ignore"``; callers show them as known, not as matches).
* Entries disabled by a curator (for ever, or until a time still ahead) never match.
* PDQ thresholds: the query's ``threshold`` if given, else the set's own
  (``pdq_threshold`` in its attributes), else 31. Queries of quality below
  ``min_quality`` (50, as the reference advises) are not matched by PDQ.
* With ``dihedral`` the eight rotations and flips of the query are searched, and a
  finding records which variant matched.
* A finding carries what the list says of the entry's item: its flags (victim and
  offender identified, distributed, baseline, series name: ICSE's and VICS's,
  ``vigil.store.hashsets.FLAG_PATHS``) and its PhotoDNA value verbatim, if any; both
  read in one query per set after the match, from the store as it is now.
* vPDQ follows the reference rule (``vigil.signals.vpdq``): query share >= 80% and
  compared share >= 0% by default, both configurable.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vigil.errors import UnknownHashSetError
from vigil.hashsets.model import HashSetInfo
from vigil.index.pdq_index import PdqIndex
from vigil.index.vpdq_index import VpdqIndex
from vigil.records import WellKnownSignals, signal_kwargs
from vigil.services.catalog import Catalog, entry_id, split_entry_id
from vigil.signals import signal_names, signal_type, signal_types
from vigil.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD
from vigil.signals.vpdq import (
    DEFAULT_COMPARED_MATCH_PERCENT,
    DEFAULT_QUERY_MATCH_PERCENT,
    VpdqFrame,
    parse_reference_lines,
)
from vigil.store import Store
from vigil.store.curation import Curation
from vigil.store.hashsets import HashSetRepository, entry_flags


@dataclass(frozen=True)
class Snapshot:
    """Everything a lookup reads, fixed at one store version; replaced, never changed."""

    version: str
    pdq: PdqIndex
    vpdq: VpdqIndex
    sets: dict[int, HashSetInfo]
    disabled: dict[tuple[int, int], float | None]
    built_at: float = field(default_factory=time.time)

    def set_named(self, name: str) -> HashSetInfo | None:
        """The set called ``name`` in this snapshot."""
        return next((s for s in self.sets.values() if s.name == name), None)

    def select(self, names: Iterable[str] | None) -> dict[int, HashSetInfo]:
        """The sets to match against (all when ``names`` is empty).

        UnknownHashSetError names a set that does not exist.
        """
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


def open_snapshot(store: Store, root: Path | None = None) -> Snapshot:
    """A snapshot of ``store`` now, its indexes brought up to date (CLI runs, tests)."""
    curation = Curation(store.db)
    version = curation.version()
    catalog = Catalog(store, root)
    catalog.refresh()
    return Snapshot(
        version=version,
        pdq=catalog.pdq,
        vpdq=catalog.vpdq,
        sets={int(i.id): i for i in store.hashsets.list() if i.id is not None},
        disabled=curation.disabled(),
    )


@dataclass(frozen=True)
class Finding:
    """One hash-set entry that a query matched."""

    info: HashSetInfo
    entry_no: int
    signal_type: str
    distance: int
    category: str | None
    variant: str | None = None  # dihedral variant of the query that matched
    query_percent: float | None = None  # vPDQ only
    compared_percent: float | None = None
    #: What the list says of the item (``FLAG_PATHS``: victim_identified, ...); None: nothing.
    flags: dict[str, Any] | None = None
    #: The entry's PhotoDNA value as the list gave it (Vigil neither computes nor compares it).
    photodna: str | None = None

    @property
    def hashset(self) -> str:
        """The set's name."""
        return self.info.name

    @property
    def kind(self) -> str:
        """alert, watch, or ignore (= known file)."""
        return str(self.info.kind)

    @property
    def entry(self) -> int:
        """The entry's number in its set."""
        return self.entry_no

    @property
    def category_profile(self) -> str | None:
        """The profile the category is read under."""
        return self.info.category_profile

    @property
    def entry_id(self) -> int:
        """The entry's global id (HMA's ``bank_content_id``)."""
        return entry_id(int(self.info.id or 0), self.entry_no)

    def to_json(self) -> dict[str, Any]:
        """The record kept in cases and printed by ``vigil match``; null where n/a."""
        return {
            "hashset": self.hashset,
            "kind": self.kind,
            "entry": self.entry_no,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "category": self.category,
            "category_profile": self.category_profile,
            "variant": self.variant,
            "query_percent": self.query_percent,
            "compared_percent": self.compared_percent,
            "flags": self.flags,
            "photodna": self.photodna,
        }

    def to_api(self) -> dict[str, Any]:
        """The shape of the /v1 routes, the match log and webhook events (n/a omitted)."""
        out: dict[str, Any] = {
            "hashset": self.hashset,
            "kind": self.kind,
            "entry": self.entry_no,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "category": self.category,
            "category_profile": self.category_profile,
        }
        if self.variant:
            out["variant"] = self.variant
        if self.query_percent is not None:
            out["query_percent"] = self.query_percent
            out["compared_percent"] = self.compared_percent
        if self.flags:
            out["flags"] = self.flags
        if self.photodna is not None:
            out["photodna"] = self.photodna
        return out


@dataclass(frozen=True)
class MatchOptions:
    """How near is a match, and how to search."""

    threshold: int | None = None  # PDQ distance; None: each set's own, else 31
    dihedral: bool = False
    min_quality: int = PDQ_QUALITY_THRESHOLD
    vpdq_query_percent: float = DEFAULT_QUERY_MATCH_PERCENT
    vpdq_compared_percent: float = DEFAULT_COMPARED_MATCH_PERCENT
    vpdq_frame_threshold: int | None = None


@signal_kwargs
@dataclass
class Query(WellKnownSignals):
    """The signals of one item (any may be missing), as a mapping by signal type.

    vPDQ is held as a list of ``VpdqFrame``; well-known types can be given as keywords
    (``Query(md5=...)``), any registered type in ``signals``.
    """

    signals: dict[str, Any] = field(default_factory=dict)
    pdq_quality: int | None = None
    pdq_dihedral: dict[str, str] | None = None

    @classmethod
    def of(cls, record: Any) -> Query:
        """The query for a record with signals (FileHashes, ScanItem, ...).

        vPDQ frames may be given as ``{pdq, quality, frame, timestamp}`` dicts (as the
        records serialise them) or as VpdqFrame objects.
        """
        signals = dict(record.signals)
        if signals.get("vpdq"):
            signals["vpdq"] = [
                f if isinstance(f, VpdqFrame) else
                VpdqFrame(f["pdq"], f["quality"], f.get("frame", 0), f.get("timestamp", 0.0))
                for f in signals["vpdq"]
            ]  # fmt: skip
        return cls(
            signals=signals,
            pdq_quality=record.pdq_quality,
            pdq_dihedral=getattr(record, "pdq_dihedral", None),
        )

    @classmethod
    def of_hash(cls, kind: str, value: str) -> Query:
        """The query for one typed hash (any registered signal type).

        ``value`` is validated here (InvalidHashError or UsageError name the problem);
        a vPDQ value is the reference's frame lines joined by ``;``.
        """
        name = kind.strip().lower()
        canonical = signal_type(name).validate(value)
        if name == "vpdq":
            return cls(vpdq=parse_reference_lines(canonical.split(";")))
        return cls(signals={name: canonical})


class Matcher:
    """Queries against one snapshot, for the chosen sets, with one store connection."""

    def __init__(
        self,
        snapshot: Snapshot,
        store: Store | None,
        sets: dict[int, HashSetInfo] | None = None,
        options: MatchOptions | None = None,
    ) -> None:
        """Match against ``sets`` (default: every set of the snapshot).

        ``store`` answers exact digests and categories; ``None`` will do for a matcher
        used only for ``surely_no_match`` (the service's fast path needs no connection).
        """
        self.snapshot = snapshot
        self.repo = store.hashsets if store is not None else None
        self.sets = snapshot.sets if sets is None else sets
        self.options = options or MatchOptions()

    def pdq_threshold(self, info: HashSetInfo) -> int:
        """The PDQ threshold that applies to one set."""
        if self.options.threshold is not None:
            return self.options.threshold
        configured = (info.attributes or {}).get("pdq_threshold")
        return int(configured) if configured is not None else PDQ_MATCH_THRESHOLD

    def _radius(self) -> int:
        return max(self.pdq_threshold(i) for i in self.sets.values())

    def surely_no_match(self, kind: str, value: str) -> bool:
        """True when a canonical PDQ hash has no candidate within the widest threshold.

        Most lookups on a platform match nothing; answering those from the index alone
        (tens of microseconds, no store connection, no thread hop) is what makes the
        service's lookup route fast. Anything else goes through ``match``.
        """
        if not self.sets:
            return True
        if kind != "pdq":
            return False
        return not self.snapshot.pdq.has_match(value, self._radius())

    def match(self, query: Query) -> list[Finding]:
        """Every live entry that the query matches: exact first, then by distance.

        Each registered signal type is matched through the index it names: the
        store's digest index for exact types, the PDQ and vPDQ indexes for those.
        """
        now = time.time()
        order = {name: rank for rank, name in enumerate(signal_names())}
        findings: list[Finding] = []
        for st in signal_types():
            if query.signals.get(st.name) is None:
                continue
            if st.index == "digest":
                findings += self._exact(st.name, query.signals[st.name], now)
            elif st.index == "pdq":
                findings += self._pdq(query, now)
            elif st.index == "vpdq":
                findings += self._vpdq(query, now)
        findings.sort(key=lambda f: (order[f.signal_type], f.distance, f.hashset, f.entry_no))
        return self._described(findings)

    def match_pdq_many(self, values: list[str]) -> list[list[Finding]]:
        """PDQ matches of many canonical hashes at once (the batch route)."""
        if not values or not self.sets:
            return [[] for _ in values]
        found = self.snapshot.pdq.query_many(values, self._radius())
        now = time.time()
        out: list[list[Finding]] = [[] for _ in values]
        for q in np.unique(found.query).tolist():
            best = {int(m.entry_id): (int(m.distance), "original") for m in found.for_query(int(q))}
            out[int(q)] = self._described(self._pdq_findings(best, now))
        return out

    def _described(self, findings: list[Finding]) -> list[Finding]:
        """``findings`` with their entries' flags and PhotoDNA values (one query per set)."""
        if not findings:
            return findings
        metas = self._store().metadata((int(f.info.id or 0), f.entry_no) for f in findings)
        out = []
        for f in findings:
            meta = metas.get((int(f.info.id or 0), f.entry_no))
            if not meta:
                out.append(f)
                continue
            photodna = meta.get("photodna")
            out.append(
                replace(
                    f,
                    flags=entry_flags(meta) or None,
                    photodna=photodna if isinstance(photodna, str) else None,
                )
            )
        return out

    # -- the three kinds of signal -----------------------------------------------------

    def _store(self) -> HashSetRepository:
        if self.repo is None:
            raise RuntimeError("this matcher has no store connection")
        return self.repo

    def _exact(self, kind: str, value: str, now: float) -> list[Finding]:
        out = []
        for set_id, entry_no, category in self._store().exact(kind, value):
            info = self.sets.get(int(set_id))
            if info is None or self.snapshot.is_disabled(int(set_id), int(entry_no), now):
                continue
            out.append(Finding(info, int(entry_no), kind, 0, category))
        return out

    def _pdq(self, query: Query, now: float) -> list[Finding]:
        if query.pdq is None or not self.sets:
            return []
        if query.pdq_quality is not None and query.pdq_quality < self.options.min_quality:
            return []
        variants = {"original": query.pdq}
        if self.options.dihedral and query.pdq_dihedral:
            variants.update(query.pdq_dihedral)
        radius = self._radius()
        best: dict[int, tuple[int, str]] = {}
        for name, value in variants.items():
            for hit in self.snapshot.pdq.query(value, radius):
                if hit.distance < best.get(int(hit.entry_id), (radius + 1, ""))[0]:
                    best[int(hit.entry_id)] = (int(hit.distance), name)
        return self._pdq_findings(best, now)

    def _pdq_findings(self, best: dict[int, tuple[int, str]], now: float) -> list[Finding]:
        live: list[tuple[HashSetInfo, int, int, str]] = []
        for eid, (distance, variant) in best.items():
            set_id, entry_no = split_entry_id(eid)
            info = self.sets.get(set_id)
            if info is None or distance > self.pdq_threshold(info):
                continue
            if self.snapshot.is_disabled(set_id, entry_no, now):
                continue
            live.append((info, entry_no, distance, variant))
        categories = self._store().categories((int(i.id or 0), n) for i, n, _, _ in live)
        return [
            Finding(
                info,
                entry_no,
                "pdq",
                distance,
                categories.get((int(info.id or 0), entry_no)),
                variant=None if variant == "original" else variant,
            )
            for info, entry_no, distance, variant in live
        ]

    def _vpdq(self, query: Query, now: float) -> list[Finding]:
        if not query.vpdq or not self.sets:
            return []
        live = []
        for hit in self.snapshot.vpdq.query(
            query.vpdq,
            self.options.vpdq_frame_threshold,
            query_percent=self.options.vpdq_query_percent,
            compared_percent=self.options.vpdq_compared_percent,
        ):
            set_id, entry_no = split_entry_id(hit.entry_id)
            info = self.sets.get(set_id)
            if info is None or self.snapshot.is_disabled(set_id, entry_no, now):
                continue
            live.append((info, entry_no, hit))
        categories = self._store().categories((int(i.id or 0), n) for i, n, _ in live)
        return [
            Finding(
                info,
                entry_no,
                "vpdq",
                round(100 - min(hit.query_percent, hit.compared_percent)),
                categories.get((int(info.id or 0), entry_no)),
                query_percent=round(hit.query_percent, 1),
                compared_percent=round(hit.compared_percent, 1),
            )
            for info, entry_no, hit in live
        ]
