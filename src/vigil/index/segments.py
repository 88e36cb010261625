"""Segments: the immutable and mutable row stores a PDQ index is made of.

A segment holds rows of ``(entry_id, 256-bit hash)`` and answers one question: which
rows lie within Hamming radius ``r`` of each query, with their distances. Two kinds:

* ``LinearSegment``: the rows in one array, searched by brute force. Exact by
  construction; the index's trivial default, its delta for recent additions, and the
  fallback when a radius is so large that no multi-index plan beats a scan.
* ``MihSegment`` (``pdq_mih.py``): the same rows with multi-index hashing tables.

Both return raw ``(query, row, distance)`` triples; tombstones and entry ids are
applied by the index that owns them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vigil.index.bits import distances
from vigil.index.storage import load_array, save_array

try:
    from vigil.index import _mihcore
except ImportError:  # pragma: no cover - only when the extension was not built
    _mihcore = None

#: Rows of 256 bits as four uint64 words.
WORDS = 4

Hits = tuple[np.ndarray, np.ndarray, np.ndarray]


def empty_hits() -> Hits:
    """No hit: (query, row, distance) arrays of length zero."""
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)


def brute_force(words: np.ndarray, queries: np.ndarray, radius: int, *, use_c: bool = True) -> Hits:
    """Every (query, row, distance) with distance <= radius, scanning all rows."""
    if len(words) == 0 or len(queries) == 0 or radius < 0:
        return empty_hits()
    if _mihcore is not None and use_c:
        q, r, d = _mihcore.scan(
            np.ascontiguousarray(words, np.uint64),
            np.ascontiguousarray(queries, np.uint64),
            radius,
            0,
        )
        return np.frombuffer(q, np.int64), np.frombuffer(r, np.int64), np.frombuffer(d, np.int32)
    qs, rows, ds = [], [], []
    # Chunks of rows keep the temporaries in cache-friendly sizes at ten million rows.
    step = 1 << 18
    for i, q in enumerate(queries):
        for lo in range(0, len(words), step):
            d = distances(words[lo : lo + step], q)
            (hit,) = np.nonzero(d <= radius)
            if len(hit):
                qs.append(np.full(len(hit), i, np.int64))
                rows.append(hit + lo)
                ds.append(d[hit])
    if not qs:
        return empty_hits()
    return np.concatenate(qs), np.concatenate(rows).astype(np.int64), np.concatenate(ds)


class LinearSegment:
    """Rows in insertion order, searched by brute force; grows by doubling its capacity."""

    def __init__(self, ids: np.ndarray | None = None, words: np.ndarray | None = None) -> None:
        """Start with the given rows (copied) or none."""
        ids = np.zeros(0, np.int64) if ids is None else np.asarray(ids, np.int64)
        words = np.zeros((0, WORDS), np.uint64) if words is None else np.asarray(words, np.uint64)
        self._n = len(ids)
        self._ids = np.array(ids, np.int64)
        self._words = np.array(words, np.uint64).reshape(-1, WORDS)

    def __len__(self) -> int:
        return self._n

    @property
    def ids(self) -> np.ndarray:
        """Entry id of each row."""
        return self._ids[: self._n]

    @property
    def words(self) -> np.ndarray:
        """Hash of each row as four uint64 words."""
        return self._words[: self._n]

    def append(self, ids: np.ndarray, words: np.ndarray) -> None:
        """Append rows, growing the arrays geometrically (amortised O(1) per row)."""
        need = self._n + len(ids)
        if need > len(self._ids):
            cap = max(need, 2 * len(self._ids), 1024)
            new_ids = np.empty(cap, np.int64)
            new_words = np.empty((cap, WORDS), np.uint64)
            new_ids[: self._n] = self._ids[: self._n]
            new_words[: self._n] = self._words[: self._n]
            self._ids, self._words = new_ids, new_words
        self._ids[self._n : need] = ids
        self._words[self._n : need] = words
        self._n = need

    def search(
        self, queries: np.ndarray, radius: int, *, use_c: bool = True, limit: int = 0
    ) -> Hits:
        """Brute force; ``limit`` is accepted for symmetry with ``MihSegment`` and ignored."""
        return brute_force(self.words, queries, radius, use_c=use_c)

    def save(self, directory: Path, prefix: str, *, keep: bool = False) -> list[str]:
        """Write ids and words; return the file names written."""
        save_array(directory, f"{prefix}.ids", self.ids, keep=keep)
        save_array(directory, f"{prefix}.words", self.words, keep=keep)
        return [f"{prefix}.ids", f"{prefix}.words"]

    @classmethod
    def open(cls, directory: Path, prefix: str, *, mmap: bool = True) -> LinearSegment:
        """Open saved rows (memory-mapped unless ``mmap`` is False: the delta is copied)."""
        seg = cls.__new__(cls)
        seg._ids = load_array(directory, f"{prefix}.ids", mmap=mmap)
        seg._words = load_array(directory, f"{prefix}.words", mmap=mmap)
        seg._n = len(seg._ids)
        return seg
