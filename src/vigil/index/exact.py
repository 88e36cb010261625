"""Exact index for MD5, SHA-1 and SHA-256: sorted fixed-width digests, binary search.

Layout of the main segment (immutable, memory-mapped): ``prefix``, the first 8 bytes
of every digest as a big-endian uint64, sorted; ``rest``, the remaining bytes of the
same rows (uint8, ``width - 8`` columns); ``ids``, the entry id of each row. A lookup
is one ``np.searchsorted`` on ``prefix`` (23 steps at 10 M) and a comparison of
``rest`` over the (almost always empty or single) run of equal prefixes. Nothing is
stored twice: 10 M SHA-256 entries take 400 MB (80 + 240 + 80), 10 M MD5 240 MB;
a hash table would need more and could not be opened memory-mapped as plain arrays.

Updates follow the PDQ index: additions go to a delta held in a dict, ``disable`` sets
tombstones, ``compact`` folds both into a new main segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from vigil.errors import InvalidHashError, UsageError
from vigil.index.base import BatchMatches, Index, Match
from vigil.index.bits import hex_to_bytes
from vigil.index.storage import (
    load_array,
    new_segment_id,
    prepare_directory,
    read_manifest,
    save_array,
    write_manifest,
)
from vigil.signals.base import SignalType
from vigil.signals.crypto import Md5Signal, Sha1Signal, Sha256Signal


class ExactIndex(Index[str, Match]):
    """Exact lookup of fixed-width digests; every match has distance 0."""

    #: Digest length in bytes.
    width: ClassVar[int]

    def __init__(
        self,
        ids: np.ndarray,
        prefix: np.ndarray,
        rest: np.ndarray,
        *,
        main_dead: np.ndarray | None = None,
    ) -> None:
        """Wrap a sorted main segment; use ``build`` or ``open`` instead."""
        self.ids = ids
        self.prefix = prefix
        self.rest = rest
        self.main_dead = main_dead
        self._delta: dict[bytes, list[int]] = {}
        self._delta_ids: list[int] = []
        self._delta_digests: list[bytes] = []
        self._delta_dead: set[int] = set()
        self._segment_id = new_segment_id()

    # -- parsing ------------------------------------------------------------------------

    @classmethod
    def parse(cls, values: Sequence[str], what: str = "query") -> np.ndarray:
        """Hex digests to an (n, width) uint8 array; InvalidHashError names the bad one."""
        try:
            return hex_to_bytes(values, cls.signal, 2 * cls.width)
        except InvalidHashError:
            for i, v in enumerate(values):
                try:
                    cls.signal.validate(v)
                except InvalidHashError as exc:
                    raise InvalidHashError(f"{what} {i}: {exc}") from None
            raise

    @classmethod
    def _split(cls, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = np.ascontiguousarray(raw, np.uint8).reshape(-1, cls.width)
        prefix = raw[:, :8].copy().view(">u8").astype(np.uint64).ravel()
        return prefix, np.ascontiguousarray(raw[:, 8:])

    # -- building and updates -----------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[tuple[int, str]]) -> Self:
        """Index a stream of ``(entry_id, hex_digest)`` pairs."""
        ids: list[int] = []
        hexes: list[str] = []
        for entry_id, value in entries:
            ids.append(int(entry_id))
            hexes.append(value)
        return cls.from_arrays(np.array(ids, np.int64), cls._parse_entries(ids, hexes))

    @classmethod
    def _parse_entries(cls, ids: list[int], hexes: list[str]) -> np.ndarray:
        try:
            return hex_to_bytes(hexes, cls.signal, 2 * cls.width)
        except InvalidHashError:
            for eid, h in zip(ids, hexes, strict=True):
                try:
                    cls.signal.validate(h)
                except InvalidHashError as exc:
                    raise InvalidHashError(f"entry {eid}: {exc}") from None
            raise

    @classmethod
    def from_arrays(cls, ids: np.ndarray, digests: np.ndarray) -> Self:
        """Index entry ids and their digests as an (n, width) uint8 array."""
        ids = np.asarray(ids, np.int64)
        prefix, rest = cls._split(digests)
        if len(ids) != len(prefix):
            raise UsageError(f"{len(ids)} entry ids for {len(prefix)} digests")
        order = np.argsort(prefix, kind="stable")
        return cls(ids[order], prefix[order], rest[order])

    def add(self, entries: Iterable[tuple[int, str]]) -> int:
        """Add entries to the delta; they match from now on."""
        pairs = [(int(e), v) for e, v in entries]
        if not pairs:
            return 0
        ids = [e for e, _ in pairs]
        raw = self._parse_entries(ids, [v for _, v in pairs])
        for eid, digest in zip(ids, raw, strict=True):
            key = digest.tobytes()
            self._delta.setdefault(key, []).append(len(self._delta_ids))
            self._delta_ids.append(eid)
            self._delta_digests.append(key)
        return len(pairs)

    def disable(self, entry_ids: Iterable[int]) -> int:
        """Tombstone every row of these entry ids; returns rows newly disabled."""
        wanted = np.unique(np.fromiter((int(e) for e in entry_ids), np.int64))
        if len(wanted) == 0:
            return 0
        count = 0
        if len(self.ids):
            hit = np.isin(np.asarray(self.ids), wanted)
            if hit.any():
                if self.main_dead is None:
                    self.main_dead = np.zeros(len(self.ids), bool)
                elif not self.main_dead.flags.writeable:
                    self.main_dead = np.array(self.main_dead)
                count += int((hit & ~self.main_dead).sum())
                self.main_dead |= hit
        wanted_set = set(wanted.tolist())
        for row, eid in enumerate(self._delta_ids):
            if eid in wanted_set and row not in self._delta_dead:
                self._delta_dead.add(row)
                count += 1
        return count

    def compact(self) -> Self:
        """A new index whose main segment holds every live row."""
        live = slice(None) if self.main_dead is None else ~np.asarray(self.main_dead)
        main = np.concatenate(
            [self.prefix[live, None].astype(">u8").view(np.uint8), self.rest[live]], 1
        )
        rows = [r for r in range(len(self._delta_ids)) if r not in self._delta_dead]
        delta = np.frombuffer(b"".join(self._delta_digests[r] for r in rows), np.uint8)
        digests = np.concatenate([main, delta.reshape(-1, self.width)])
        ids = np.concatenate(
            [np.asarray(self.ids)[live], np.array([self._delta_ids[r] for r in rows], np.int64)]
        )
        return type(self).from_arrays(ids, digests)

    def __len__(self) -> int:
        dead = 0 if self.main_dead is None else int(np.count_nonzero(self.main_dead))
        return len(self.ids) - dead + len(self._delta_ids) - len(self._delta_dead)

    # -- queries ------------------------------------------------------------------------

    def query(self, value: str, threshold: int | None = None) -> list[Match]:
        """Every live entry whose digest equals ``value`` (threshold is ignored: exact)."""
        del threshold
        digest = bytes.fromhex(self.signal.validate(value))
        prefix = int.from_bytes(digest[:8], "big")
        rest = np.frombuffer(digest[8:], np.uint8)
        found: set[int] = set()
        lo = int(np.searchsorted(self.prefix, np.uint64(prefix), "left"))
        hi = lo
        while hi < len(self.prefix) and int(self.prefix[hi]) == prefix:
            hi += 1
        for row in range(lo, hi):
            dead = self.main_dead is not None and self.main_dead[row]
            if not dead and np.array_equal(self.rest[row], rest):
                found.add(int(self.ids[row]))
        for row in self._delta.get(digest, ()):
            if row not in self._delta_dead:
                found.add(self._delta_ids[row])
        return [Match(0, e) for e in sorted(found)]

    def query_many(self, values: Sequence[str], threshold: int | None = None) -> BatchMatches:
        """Matches of many digests at once."""
        del threshold
        return self.query_digests(self.parse(values))

    def query_digests(self, raw: np.ndarray) -> BatchMatches:
        """Matches of digests given as an (n, width) uint8 array."""
        prefix, rest = self._split(raw)
        out_q: list[np.ndarray] = []
        out_e: list[np.ndarray] = []
        if len(self.prefix) and len(prefix):
            lo = np.searchsorted(self.prefix, prefix, "left")
            hi = np.searchsorted(self.prefix, prefix, "right")
            lens = hi - lo
            total = int(lens.sum())
            if total:
                first = np.cumsum(lens) - lens
                rows = np.repeat(lo - first, lens) + np.arange(total)
                qid = np.repeat(np.arange(len(prefix)), lens)
                same = (np.asarray(self.rest)[rows] == rest[qid]).all(axis=1)
                if self.main_dead is not None:
                    same &= ~np.asarray(self.main_dead)[rows]
                out_q.append(qid[same])
                out_e.append(np.asarray(self.ids)[rows[same]])
        if self._delta:
            for i, digest in enumerate(np.ascontiguousarray(raw, np.uint8).reshape(-1, self.width)):
                for row in self._delta.get(digest.tobytes(), ()):
                    if row not in self._delta_dead:
                        out_q.append(np.array([i]))
                        out_e.append(np.array([self._delta_ids[row]], np.int64))
        if not out_q:
            return BatchMatches.empty()
        q = np.concatenate(out_q)
        e = np.concatenate(out_e)
        key = np.unique(np.stack([q, e], axis=1), axis=0)
        return BatchMatches.sorted(key[:, 0], key[:, 1], np.zeros(len(key), np.int32))

    # -- persistence --------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write into directory ``path``; the main segment is written only once."""
        directory = prepare_directory(path)
        prefix = f"main-{self._segment_id}"
        files = []
        for part in ("ids", "prefix", "rest"):
            save_array(directory, f"{prefix}.{part}", getattr(self, part), keep=True)
            files.append(f"{prefix}.{part}")
        if self.main_dead is not None:
            save_array(directory, "main-dead", self.main_dead)
            files.append("main-dead")
        delta = np.frombuffer(b"".join(self._delta_digests), np.uint8).reshape(-1, self.width)
        save_array(directory, "delta.ids", np.array(self._delta_ids, np.int64))
        save_array(directory, "delta.digests", delta)
        save_array(directory, "delta-dead", np.array(sorted(self._delta_dead), np.int64))
        files += ["delta.ids", "delta.digests", "delta-dead"]
        body = {"segment": self._segment_id, "rows": len(self.ids), "width": self.width}
        write_manifest(directory, self.kind, body, files)

    @classmethod
    def open(cls, path: str | Path) -> Self:
        """Open a saved index; the main segment memory-mapped, the delta read in."""
        directory, manifest = read_manifest(path, cls.kind)
        prefix = f"main-{manifest['segment']}"
        main_dead = None
        if "main-dead" in manifest["files"]:
            main_dead = load_array(directory, "main-dead", mmap=False)
        index = cls(
            load_array(directory, f"{prefix}.ids"),
            load_array(directory, f"{prefix}.prefix"),
            load_array(directory, f"{prefix}.rest"),
            main_dead=main_dead,
        )
        index._segment_id = manifest["segment"]
        delta_ids = load_array(directory, "delta.ids", mmap=False)
        digests = load_array(directory, "delta.digests", mmap=False)
        for eid, digest in zip(delta_ids.tolist(), digests, strict=True):
            key = digest.tobytes()
            index._delta.setdefault(key, []).append(len(index._delta_ids))
            index._delta_ids.append(eid)
            index._delta_digests.append(key)
        index._delta_dead = set(load_array(directory, "delta-dead", mmap=False).tolist())
        return index

    def nbytes(self) -> int:
        """Bytes of the main segment's arrays."""
        return sum(int(np.asarray(a).nbytes) for a in (self.ids, self.prefix, self.rest))


class Md5Index(ExactIndex):
    """MD5 digests (16 bytes)."""

    kind = "md5"
    signal: ClassVar[type[SignalType]] = Md5Signal
    width = 16


class Sha1Index(ExactIndex):
    """SHA-1 digests (20 bytes)."""

    kind = "sha1"
    signal: ClassVar[type[SignalType]] = Sha1Signal
    width = 20


class Sha256Index(ExactIndex):
    """SHA-256 digests (32 bytes)."""

    kind = "sha256"
    signal: ClassVar[type[SignalType]] = Sha256Signal
    width = 32
