"""The PDQ index: exact range search over millions of PDQ hashes, updatable in place.

An index is three parts (see docs/index.md):

* a **main segment**, immutable and memory-mapped: ``MihSegment`` (multi-index
  hashing tables, ``pdq_mih.py``) or, below ``mih_min_rows`` rows or in
  ``PdqLinearIndex``, a ``LinearSegment`` scanned by brute force;
* **tombstones**: a boolean per main row, set by ``disable``;
* a **delta**: rows added since the main segment was built, scanned by brute force
  (a few thousand rows cost microseconds), with their own tombstones.

``compact()`` folds delta and tombstones into a new main segment; until then nothing
is rebuilt, so an addition is matchable as soon as ``add`` returns.

Quality: the reference advises not to match hashes of quality below 50. Queries
given with a quality below ``quality_threshold`` answer no match, and entries given
as ``(id, hash, quality)`` below it are not indexed; 0 turns this off. Entries given
without a quality (most hash lists carry none) are always indexed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

import numpy as np

from vigil.errors import InvalidHashError, UsageError
from vigil.index.base import BatchMatches, Index, Match
from vigil.index.bits import bytes_to_words, hex_to_bytes
from vigil.index.pdq_mih import CHUNK, MihSegment
from vigil.index.segments import WORDS, Hits, LinearSegment
from vigil.index.storage import (
    load_array,
    new_segment_id,
    prepare_directory,
    read_manifest,
    save_array,
    write_manifest,
)
from vigil.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD, PdqSignal

#: Below this many rows a scan beats the 134 MB of MIH tables.
MIH_MIN_ROWS = 65_536
#: Entries parsed per chunk while building from a stream.
PARSE_CHUNK = 1 << 20
#: Largest possible PDQ distance; radii above it are clamped.
MAX_RADIUS = 256

Entry = tuple[int, str] | tuple[int, str, int]


def default_workers() -> int:
    """Threads for batch queries: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def parse_pdq(values: Sequence[str], what: str = "query") -> np.ndarray:
    """PDQ hex strings to (n, 4) uint64 words; InvalidHashError names the bad one."""
    try:
        return bytes_to_words(hex_to_bytes(values, PdqSignal, 64))
    except InvalidHashError:
        for i, v in enumerate(values):
            try:
                PdqSignal.validate(v)
            except InvalidHashError as exc:
                raise InvalidHashError(f"{what} {i}: {exc}") from None
        raise


def parse_entries(
    entries: Iterable[Entry], quality_threshold: int
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Chunks of (ids, words, n_skipped_low_quality) from a stream of entries."""
    ids: list[int] = []
    hexes: list[str] = []
    skipped = 0

    def flush() -> tuple[np.ndarray, np.ndarray, int]:
        try:
            words = bytes_to_words(hex_to_bytes(hexes, PdqSignal, 64))
        except InvalidHashError:
            for eid, h in zip(ids, hexes, strict=True):
                try:
                    PdqSignal.validate(h)
                except InvalidHashError as exc:
                    raise InvalidHashError(f"entry {eid}: {exc}") from None
            raise
        return np.array(ids, np.int64), words, skipped

    for entry in entries:
        if len(entry) == 3 and entry[2] < quality_threshold:  # type: ignore[misc]
            skipped += 1
            continue
        ids.append(int(entry[0]))
        hexes.append(entry[1])
        if len(ids) >= PARSE_CHUNK:
            yield flush()
            ids, hexes, skipped = [], [], 0
    if ids or skipped:
        yield flush()


def _collect(
    entries: Iterable[Entry], quality_threshold: int
) -> tuple[np.ndarray, np.ndarray, int]:
    chunks = list(parse_entries(entries, quality_threshold))
    if not chunks:
        return np.zeros(0, np.int64), np.zeros((0, WORDS), np.uint64), 0
    ids = np.concatenate([c[0] for c in chunks])
    words = np.concatenate([c[1] for c in chunks]).reshape(-1, WORDS)
    return ids, words, sum(c[2] for c in chunks)


class PdqIndex(Index[str, Match]):
    """Exact PDQ range search: every live entry within the radius, never one missed."""

    kind = "pdq"
    signal = PdqSignal
    #: Whether the main segment may use MIH tables (False in ``PdqLinearIndex``).
    use_mih = True

    def __init__(
        self,
        main: MihSegment | LinearSegment | None = None,
        *,
        main_dead: np.ndarray | None = None,
        delta: LinearSegment | None = None,
        delta_dead: np.ndarray | None = None,
        quality_threshold: int = PDQ_QUALITY_THRESHOLD,
        workers: int | None = None,
    ) -> None:
        """Assemble an index from its parts; use ``build`` or ``open`` instead."""
        self.main = main if main is not None else LinearSegment()
        self.main_dead = main_dead
        self.delta = delta if delta is not None else LinearSegment()
        self._delta_dead = np.zeros(0, bool) if delta_dead is None else np.array(delta_dead, bool)
        self.quality_threshold = quality_threshold
        self.workers = workers or default_workers()
        self.skipped_low_quality = 0
        self._segment_id = new_segment_id()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0

    # -- building ---------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        entries: Iterable[Entry],
        *,
        quality_threshold: int = PDQ_QUALITY_THRESHOLD,
        mih_min_rows: int = MIH_MIN_ROWS,
        workers: int | None = None,
    ) -> Self:
        """Index a stream of ``(entry_id, pdq_hex)`` or ``(entry_id, pdq_hex, quality)``."""
        ids, words, skipped = _collect(entries, quality_threshold)
        index = cls.from_arrays(
            ids,
            words,
            quality_threshold=quality_threshold,
            mih_min_rows=mih_min_rows,
            workers=workers,
        )
        index.skipped_low_quality = skipped
        return index

    @classmethod
    def from_arrays(
        cls,
        ids: np.ndarray,
        words: np.ndarray,
        *,
        quality_threshold: int = PDQ_QUALITY_THRESHOLD,
        mih_min_rows: int = MIH_MIN_ROWS,
        workers: int | None = None,
    ) -> Self:
        """Index entry ids and their hashes as (n, 4) uint64 words (see ``bits.py``)."""
        ids = np.asarray(ids, np.int64)
        words = np.asarray(words, np.uint64).reshape(-1, WORDS)
        if len(ids) != len(words):
            raise UsageError(f"{len(ids)} entry ids for {len(words)} hashes")
        main: MihSegment | LinearSegment
        if cls.use_mih and len(ids) >= max(mih_min_rows, 1):
            main = MihSegment.build(ids, words)
        else:
            main = LinearSegment(ids, words)
        return cls(main, quality_threshold=quality_threshold, workers=workers)

    # -- updates ----------------------------------------------------------------------

    def add(self, entries: Iterable[Entry]) -> int:
        """Append entries to the delta; they match from now on. Returns how many."""
        ids, words, skipped = _collect(entries, self.quality_threshold)
        self.add_arrays(ids, words)
        self.skipped_low_quality += skipped
        return len(ids)

    def add_arrays(self, ids: np.ndarray, words: np.ndarray) -> None:
        """Append entry ids and (n, 4) uint64 words to the delta."""
        ids = np.asarray(ids, np.int64)
        self.delta.append(ids, np.asarray(words, np.uint64).reshape(-1, WORDS))
        self._delta_dead = np.concatenate([self._delta_dead, np.zeros(len(ids), bool)])

    def disable(self, entry_ids: Iterable[int]) -> int:
        """Tombstone every row of these entry ids (main and delta); returns rows newly disabled.

        One vectorised pass over the main segment's ids (~0.1 s at 10 M): disabling
        is an administrative act, so no id-to-row table is kept in memory for it.
        """
        wanted = np.unique(np.fromiter((int(e) for e in entry_ids), np.int64))
        if len(wanted) == 0:
            return 0
        count = 0
        if len(self.main):
            hit = np.isin(np.asarray(self.main.ids), wanted)
            if hit.any():
                if self.main_dead is None:
                    self.main_dead = np.zeros(len(self.main), bool)
                elif not self.main_dead.flags.writeable:
                    self.main_dead = np.array(self.main_dead)
                count += int((hit & ~self.main_dead).sum())
                self.main_dead |= hit
        if len(self.delta):
            hit = np.isin(self.delta.ids, wanted)
            count += int((hit & ~self._delta_dead).sum())
            self._delta_dead |= hit
        return count

    def compact(self) -> Self:
        """A new index whose main segment holds every live row; this one is unchanged."""
        ids, words = self.live_rows()
        index = type(self).from_arrays(
            ids, words, quality_threshold=self.quality_threshold, workers=self.workers
        )
        return index

    def live_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Entry ids and words of every live row, main first, then delta in order."""
        main_live = slice(None) if self.main_dead is None else ~np.asarray(self.main_dead)
        ids = np.concatenate(
            [np.asarray(self.main.ids)[main_live], self.delta.ids[~self._delta_dead]]
        )
        words = np.concatenate(
            [np.asarray(self.main.words)[main_live], self.delta.words[~self._delta_dead]]
        )
        return ids, words.reshape(-1, WORDS)

    def __len__(self) -> int:
        dead = 0 if self.main_dead is None else int(np.count_nonzero(self.main_dead))
        return len(self.main) - dead + len(self.delta) - int(np.count_nonzero(self._delta_dead))

    @property
    def delta_size(self) -> int:
        """Rows in the delta; compact when this grows past a few hundred thousand."""
        return len(self.delta)

    # -- queries ----------------------------------------------------------------------

    def radius(self, threshold: int | None) -> int:
        """The search radius for a threshold (None: 31); UsageError if negative."""
        radius = PDQ_MATCH_THRESHOLD if threshold is None else int(threshold)
        if radius < 0:
            raise UsageError(f"PDQ threshold must be 0 or more, got {radius}")
        return min(radius, MAX_RADIUS)

    def query(
        self, value: str, threshold: int | None = None, *, quality: int | None = None
    ) -> list[Match]:
        """Every live entry within ``threshold`` (default 31) of one PDQ hash, nearest first.

        The single-query path avoids the batch machinery (sorting arrays, threads): at
        10 M hashes the search itself takes a few hundred microseconds, and Python
        overhead should not double it.
        """
        canonical = PdqSignal.validate(value)
        if quality is not None and quality < self.quality_threshold:
            return []
        radius = self.radius(threshold)
        words = np.frombuffer(bytes.fromhex(canonical), ">u8").astype(np.uint64).reshape(1, WORDS)
        best: dict[int, int] = {}
        for segment, dead in ((self.main, self.main_dead), (self.delta, self._delta_dead)):
            if len(segment) == 0:
                continue
            _, rows, d = segment.search(words, radius)
            if len(rows) and dead is not None:
                live = ~np.asarray(dead)[rows]
                rows, d = rows[live], d[live]
            for entry, distance in zip(
                np.asarray(segment.ids)[rows].tolist(), d.tolist(), strict=True
            ):
                if distance < best.get(entry, MAX_RADIUS + 1):
                    best[entry] = distance
        return sorted(Match(d, e) for e, d in best.items())

    def has_match(self, value: str, threshold: int | None = None) -> bool:
        """Whether any live entry lies within ``threshold`` (default 31) of one PDQ hash.

        The yes/no a lookup service asks before anything else (most lookups match
        nothing): no ``Match`` objects, no sorting, and the C core stops at the first
        hit. With tombstones in the main segment a first hit may be dead and hide a
        live one, so the main segment is then searched in full; the delta is small and
        always scanned. A no-match query costs what ``query`` costs minus its Python
        overhead: every probe has to be made to prove there is nothing.
        """
        canonical = PdqSignal.validate(value)
        radius = self.radius(threshold)
        words = np.frombuffer(bytes.fromhex(canonical), ">u8").astype(np.uint64).reshape(1, WORDS)
        for segment, dead in ((self.main, self.main_dead), (self.delta, self._delta_dead)):
            if len(segment) == 0:
                continue
            _, rows, _ = segment.search(words, radius, limit=1 if dead is None else 0)
            if len(rows) and (dead is None or not np.asarray(dead)[rows].all()):
                return True
        return False

    def query_many(
        self,
        values: Sequence[str],
        threshold: int | None = None,
        *,
        qualities: Sequence[int] | None = None,
        workers: int | None = None,
    ) -> BatchMatches:
        """Matches of many hashes at once (threads across cores); see ``BatchMatches``."""
        words = parse_pdq(values)
        if qualities is not None:
            if len(qualities) != len(values):
                raise UsageError(f"{len(qualities)} qualities for {len(values)} hashes")
            usable = np.asarray(qualities) >= self.quality_threshold
            (keep,) = np.nonzero(usable)
            found = self.search_words(words[keep], self.radius(threshold), workers=workers)
            return BatchMatches(keep[found.query], found.entry_id, found.distance)
        return self.search_words(words, self.radius(threshold), workers=workers)

    def search_words(
        self, words: np.ndarray, radius: int, *, workers: int | None = None
    ) -> BatchMatches:
        """Range search for (n, 4) uint64 query words: the array API under ``query_many``."""
        words = np.ascontiguousarray(words, np.uint64).reshape(-1, WORDS)
        n_workers = self.workers if workers is None else workers
        if n_workers > 1 and len(words) >= 2 * CHUNK:
            pieces = np.array_split(np.arange(len(words)), min(len(words) // CHUNK, 4 * n_workers))
            pool = self._thread_pool(n_workers)
            parts = list(pool.map(lambda p: self._search(words[p], radius, int(p[0])), pieces))
        else:
            parts = [self._search(words, radius, 0)]
        q = np.concatenate([p[0] for p in parts])
        e = np.concatenate([p[1] for p in parts])
        d = np.concatenate([p[2] for p in parts])
        return _best_per_entry(q, e, d)

    def _search(self, words: np.ndarray, radius: int, base: int) -> Hits:
        """(query, entry_id, distance) from main and delta, tombstones applied."""
        out_q, out_e, out_d = [], [], []
        for segment, dead in ((self.main, self.main_dead), (self.delta, self._delta_dead)):
            if len(segment) == 0:
                continue
            q, rows, d = segment.search(words, radius)
            if dead is not None and len(rows):
                live = ~np.asarray(dead)[rows]
                q, rows, d = q[live], rows[live], d[live]
            out_q.append(q + base)
            out_e.append(np.asarray(segment.ids)[rows])
            out_d.append(d)
        if not out_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
        return np.concatenate(out_q), np.concatenate(out_e), np.concatenate(out_d)

    def _thread_pool(self, n: int) -> ThreadPoolExecutor:
        if self._pool is None or self._pool_size != n:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            self._pool = ThreadPoolExecutor(n, thread_name_prefix="vigil-index")
            self._pool_size = n
        return self._pool

    # -- persistence ------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write into directory ``path``; the main segment's files are written only once."""
        directory = prepare_directory(path)
        prefix = f"main-{self._segment_id}"
        files = self.main.save(directory, prefix, keep=True)
        if self.main_dead is not None:
            save_array(directory, "main-dead", self.main_dead)
            files.append("main-dead")
        files += self.delta.save(directory, "delta")
        save_array(directory, "delta-dead", self._delta_dead)
        files.append("delta-dead")
        body = {
            "segment": self._segment_id,
            "main_type": "mih" if isinstance(self.main, MihSegment) else "linear",
            "rows": len(self.main),
            "delta_rows": len(self.delta),
            "quality_threshold": self.quality_threshold,
        }
        write_manifest(directory, self.kind, body, files)

    @classmethod
    def open(cls, path: str | Path, *, workers: int | None = None, in_memory: bool = False) -> Self:
        """Open a saved index; the small delta is always read in.

        By default the main segment is memory-mapped: opening takes milliseconds and
        processes share one copy through the page cache. ``in_memory`` reads it into
        anonymous memory instead (0.6 s at 1 M hashes, 2.3 s at 10 M from page cache;
        one copy per process), which Linux can back with transparent huge pages so
        that random reads miss the TLB less. An A/B test in one process measured 30-50%
        more batch throughput at 10 M; the full benchmark on the shared machine showed
        no gain (docs/benchmarks.md). Measure before relying on it.
        """
        directory, manifest = read_manifest(path, cls.kind)
        prefix = f"main-{manifest['segment']}"
        main: MihSegment | LinearSegment
        if manifest["main_type"] == "mih":
            main = MihSegment.open(directory, prefix, mmap=not in_memory)
        else:
            main = LinearSegment.open(directory, prefix, mmap=not in_memory)
        main_dead = None
        if "main-dead" in manifest["files"]:
            main_dead = load_array(directory, "main-dead", mmap=False)
        index = cls(
            main,
            main_dead=main_dead,
            delta=LinearSegment.open(directory, "delta", mmap=False),
            delta_dead=load_array(directory, "delta-dead", mmap=False),
            quality_threshold=int(manifest["quality_threshold"]),
            workers=workers,
        )
        index._segment_id = manifest["segment"]
        return index

    def warm(self) -> None:
        """Read every page of the mapped arrays once, so that first queries do not fault.

        ``open`` maps the files and reads nothing; on a cold page cache the first
        queries would each wait for a few thousand random reads. Reading ~1 GB
        sequentially instead takes about a second from an SSD, less from page cache.
        """
        for name in ("ids", "words", "offsets", "perm"):
            array = getattr(self.main, name, None)
            if array is None or array.size == 0:
                continue
            flat = np.asarray(array).reshape(-1).view(np.uint8)
            step = 1 << 24
            for lo in range(0, len(flat), step):
                flat[lo : lo + step : 4096].max()
        if isinstance(self.main, MihSegment):
            self.main.nonempty_bitmap()  # derived once here rather than on a first query

    def nbytes(self) -> int:
        """Bytes of every array the index holds (mapped or in memory)."""
        arrays = [
            getattr(self.main, a)
            for a in ("ids", "words", "offsets", "perm")
            if hasattr(self.main, a)
        ]
        if isinstance(self.main, MihSegment) and self.main.nonempty_bitmap() is not None:
            arrays.append(self.main.nonempty_bitmap())
        arrays += [self.delta.ids, self.delta.words, self._delta_dead]
        if self.main_dead is not None:
            arrays.append(self.main_dead)
        return sum(int(np.asarray(a).nbytes) for a in arrays)


class PdqLinearIndex(PdqIndex):
    """The trivial exact default: every row scanned (in C when built); no tables."""

    kind = "pdq-linear"
    use_mih = False


def _best_per_entry(q: np.ndarray, e: np.ndarray, d: np.ndarray) -> BatchMatches:
    """One match per (query, entry): an entry stored twice reports its nearest row."""
    order = np.lexsort((d, e, q))
    q, e, d = q[order], e[order], d[order]
    if len(q) > 1:
        first = np.ones(len(q), bool)
        first[1:] = (q[1:] != q[:-1]) | (e[1:] != e[:-1])
        q, e, d = q[first], e[first], d[first]
    return BatchMatches.sorted(q, e, d)
