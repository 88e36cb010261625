"""The one interface every Vigil index implements: build, add, disable, query, save, open.

Indexes are built from a stream of ``(entry_id, hash)`` pairs, where ``entry_id`` is
the store's integer id of a hash-set entry; a query answers with entry ids and
distances, and the caller (the store, ``vigil match``) turns ids into hash sets and
categories. Keeping the index ignorant of hash sets keeps it small, fast and easy to
rebuild from the store at any time: the store is the truth, an index is a cache.

Updates never need a full rebuild: ``add`` appends to a small delta searched by brute
force, ``disable`` sets tombstones; ``compact`` folds both into a new main segment when
the caller chooses to (see docs/index.md). Saved indexes are directories of ``.npy``
arrays opened memory-mapped plus a JSON manifest, never pickle (style lesson 4).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Self, TypeVar

import numpy as np

from vigil.signals.base import SignalType

Q = TypeVar("Q")
R = TypeVar("R")


@dataclass(frozen=True, slots=True, order=True)
class Match:
    """One stored entry that matches a query, and its distance (0 for exact indexes)."""

    distance: int
    entry_id: int


@dataclass(frozen=True)
class BatchMatches:
    """Matches of many queries as parallel arrays, sorted by query, distance, entry id.

    ``query[i]`` is the position of the query in the batch; arrays avoid building a
    Python object per match when a batch of thousands of queries is answered.
    """

    query: np.ndarray
    entry_id: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.query)

    def for_query(self, i: int) -> list[Match]:
        """The matches of query ``i`` as ``Match`` objects."""
        lo, hi = np.searchsorted(self.query, [i, i + 1])
        return [
            Match(int(d), int(e))
            for d, e in zip(self.distance[lo:hi], self.entry_id[lo:hi], strict=True)
        ]

    @classmethod
    def empty(cls) -> BatchMatches:
        """No match at all."""
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))

    @classmethod
    def sorted(cls, query: np.ndarray, entry_id: np.ndarray, distance: np.ndarray) -> BatchMatches:
        """Build from unsorted arrays; sort by (query, distance, entry_id)."""
        order = np.lexsort((entry_id, distance, query))
        return cls(
            query[order].astype(np.int64, copy=False),
            entry_id[order].astype(np.int64, copy=False),
            distance[order].astype(np.int32, copy=False),
        )


class Index(ABC, Generic[Q, R]):
    """Interface of an index over one signal type; ``Q`` is a query value, ``R`` a result."""

    #: Stored in the manifest; never changes once released.
    kind: ClassVar[str]
    #: The signal type whose values the index holds (validation, default threshold).
    signal: ClassVar[type[SignalType]]

    @classmethod
    @abstractmethod
    def build(cls, entries: Iterable[tuple[int, str]]) -> Self:
        """A new index holding ``entries``, a stream of ``(entry_id, hash)`` pairs."""

    @abstractmethod
    def add(self, entries: Iterable[tuple[int, str]]) -> int:
        """Add entries without a rebuild; return how many were added."""

    @abstractmethod
    def disable(self, entry_ids: Iterable[int]) -> int:
        """Stop matching every stored row of these entry ids; return how many rows."""

    @abstractmethod
    def query(self, value: Q, threshold: int | None = None) -> list[R]:
        """Every live entry matching ``value``; InvalidHashError if ``value`` is malformed."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the index as plain arrays into directory ``path``."""

    @classmethod
    @abstractmethod
    def open(cls, path: str | Path) -> Self:
        """Open a saved index, memory-mapped; cheap whatever its size."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of live (not disabled) rows."""
