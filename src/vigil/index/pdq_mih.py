"""Multi-index hashing (MIH) over contiguous arrays: exact PDQ range search.

Why this layout. The 256 bits are cut into 12 slots, three per 64-bit word (22, 21 and
21 bits), and each slot gets a CSR table: ``offsets`` (one uint32 per possible slot
value, 2**22 or 2**21 of them) into ``perm``, the row numbers sorted by that slot's
value. Rows themselves are sorted by slot 0, so slot 0 needs no ``perm`` (rows are
their own positions): 10 M hashes take 320 MB of words, 440 MB of ``perm``, 134 MB of
offsets and 40 MB of entry ids (uint32 when they fit, else 80 MB of int64), under 1 GB,
all plain arrays opened memory-mapped.

Why it is exact, for any radius. Generalised pigeonhole: give every slot a budget
``t_s`` (``-1`` = slot not probed). If ``sum(t_s + 1) > r`` and two hashes are within
``r``, some slot differs by at most its budget, because otherwise the distance would
be at least ``sum(t_s + 1)``. So probing, in each slot, every value within ``t_s``
bits of the query's and verifying the full distance of every row found returns all
rows within ``r`` and only those. (The reference's MIH, pdq/README-MIH.md, is the
special case of 16 slots of 16 bits with ``t_s = 1``.)

Why 12 slots and not 16. With 16-bit slots each of the 65,536 buckets holds ~150 of
10 M rows and a radius-31 query verifies ~41,000 candidates, each a random 32-byte
read. With 21/22-bit slots and budgets chosen per radius (eight slots at 2 bits, four
at 1 for r = 31) a query reads ~2,000 offsets and verifies ~7,000 candidates: about
five times less memory traffic for the same guarantee. The budgets are picked greedily
from an expected-cost model (probes + candidates); when the plan would cost more than
scanning every row (radius well above 31, or a tiny segment), the segment scans instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np

from vigil.index.segments import WORDS, Hits, brute_force, empty_hits
from vigil.index.storage import load_array, save_array

try:
    from vigil.index import _mihcore
except ImportError:  # pragma: no cover - only when the extension was not built
    _mihcore = None

#: (word, shift, bits) of each slot; three slots per 64-bit word.
SLOTS: tuple[tuple[int, int, int], ...] = tuple(
    (w, shift, bits) for w in range(WORDS) for shift, bits in ((42, 22), (21, 21), (0, 21))
)
N_SLOTS = len(SLOTS)
#: Relative cost of one probe (an offsets lookup), one verified candidate, one scanned row.
PROBE_COST = 2.0
CANDIDATE_COST = 3.0
SCAN_COST = 1.0
#: Queries answered together by the vectorised search (bounds temporary memory).
CHUNK = 64
#: No slot budget beyond this many bits (C(22, 6) = 74,613 probes is already absurd).
MAX_BUDGET = 6
#: The C core checks a bitmap of non-empty buckets before each offsets lookup when at
#: most this share of buckets holds rows (about 1.4 M rows and fewer): at 1 M, 70% of
#: probes then skip a cache miss; at 10 M nearly every bucket is full and the check
#: only costs (measured in docs/index.md).
BITMAP_MAX_FILL = 0.5


def slot_keys(words: np.ndarray, slot: int) -> np.ndarray:
    """Value of ``slot`` for every row of ``words`` (n, 4) as uint32."""
    w, shift, bits = SLOTS[slot]
    return ((words[:, w] >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.uint32)


@lru_cache(maxsize=64)
def flip_masks(bits: int, budget: int) -> np.ndarray:
    """All ``bits``-bit values of popcount <= ``budget``, by popcount (uint32)."""
    masks = [0]
    for k in range(1, budget + 1):
        masks.extend(sum(1 << b for b in c) for c in combinations(range(bits), k))
    return np.array(masks, dtype=np.uint32)


@dataclass(frozen=True)
class Plan:
    """Probes of one radius: per probe, its slot, flip mask and table offsets."""

    budgets: tuple[int, ...]
    slot: np.ndarray
    flip: np.ndarray
    table: np.ndarray  # start of the slot's offsets inside the concatenated table
    pos: np.ndarray  # start of the slot's rows inside the virtual [identity, perm] array
    cost: float

    @property
    def budget_array(self) -> np.ndarray:
        """Budgets as int8, for the C core."""
        return np.array(self.budgets, np.int8)


def make_plan(radius: int, n_rows: int, *, allow_scan: bool = True) -> Plan | None:
    """The cheapest exact plan for ``radius`` over ``n_rows``, or None if scanning is cheaper.

    Without ``allow_scan`` a plan is returned whenever one exists (radius <= 83), which
    lets tests exercise the tables on small data.
    """
    budgets = [-1] * N_SLOTS
    if radius < 0:
        return None
    scan = SCAN_COST * n_rows
    cost = 0.0

    def step_cost(s: int) -> float:
        bits = SLOTS[s][2]
        t = budgets[s] + 1
        if t > min(bits, MAX_BUDGET):
            return math.inf
        return math.comb(bits, t) * (PROBE_COST + CANDIDATE_COST * n_rows / (1 << bits))

    # sum(t_s + 1) must exceed the radius: radius + 1 increments, each the cheapest.
    for _ in range(radius + 1):
        s = min(range(N_SLOTS), key=step_cost)
        c = step_cost(s)
        if math.isinf(c):
            return None
        budgets[s] += 1
        cost += c
        if allow_scan and cost > scan:
            return None
    slot, flip = [], []
    for s, t in enumerate(budgets):
        if t >= 0:
            m = flip_masks(SLOTS[s][2], t)  # cached: the same arrays serve every plan
            slot.append(np.full(len(m), s, np.intp))
            flip.append(m)
    slots = np.concatenate(slot)
    table_start = np.cumsum([0] + [(1 << b) + 1 for _, _, b in SLOTS])[:-1]
    return Plan(
        budgets=tuple(budgets),
        slot=slots.astype(np.int32),
        flip=np.concatenate(flip),
        table=table_start[slots].astype(np.int64),
        pos=slots.astype(np.int64) * n_rows,
        cost=cost,
    )


def _offsets_of(keys: np.ndarray, bits: int) -> np.ndarray:
    """CSR offsets (uint32, 2**bits + 1) of ``keys``."""
    table = np.zeros((1 << bits) + 1, np.uint32)
    np.cumsum(np.bincount(keys, minlength=1 << bits), out=table[1:])
    return table


def _group_rows(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Row numbers grouped by key, stable (uint32): a counting sort in C, else argsort."""
    if _mihcore is None:
        return np.argsort(keys, kind="stable").astype(np.uint32)
    perm = np.empty(len(keys), np.uint32)
    _mihcore.counting_sort(np.ascontiguousarray(keys, np.uint32), table, perm)
    return perm


class MihSegment:
    """Immutable rows with 12 CSR slot tables; ``search`` is exact for every radius."""

    def __init__(
        self, ids: np.ndarray, words: np.ndarray, offsets: np.ndarray, perm: np.ndarray
    ) -> None:
        """Wrap arrays made by ``build`` or opened from disk."""
        self.ids = ids
        self.words = words
        self.offsets = offsets
        self.perm = perm
        self._plans: dict[tuple[int, bool], Plan | None] = {}
        self._bitmap: np.ndarray | bool | None = False  # False: not decided yet
        #: Largest share of non-empty buckets for which the bitmap is made; tests set
        #: it to -1 (never) or 1 (always) before the first search to take either C path.
        self.bitmap_max_fill = BITMAP_MAX_FILL
        #: False forces the tables even where a scan would be faster (tests).
        self.allow_scan = True

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: np.ndarray, words: np.ndarray) -> MihSegment:
        """Sort rows by slot 0 and make every slot's offsets and row permutation."""
        ids = np.asarray(ids, np.int64)
        words = np.asarray(words, np.uint64).reshape(-1, WORDS)
        n = len(ids)
        if n >= 1 << 32:
            raise ValueError("a segment holds fewer than 2**32 rows")
        if n and ids.min() >= 0 and ids.max() < 1 << 32:
            ids = ids.astype(np.uint32)  # store ids are small: 40 MB saved at 10 M rows
        keys0 = slot_keys(words, 0)
        order = _group_rows(keys0, _offsets_of(keys0, SLOTS[0][2]))
        ids, words = ids[order], words[order]
        del order, keys0
        table_sizes = [(1 << bits) + 1 for _, _, bits in SLOTS]
        offsets = np.zeros(sum(table_sizes), np.uint32)
        perm = np.empty((N_SLOTS - 1) * n, np.uint32)  # filled in place: no 2x peak
        start = 0
        for s, (_, _, bits) in enumerate(SLOTS):
            keys = slot_keys(words, s)
            table = offsets[start : start + table_sizes[s]]
            table[:] = _offsets_of(keys, bits)
            start += table_sizes[s]
            if s:
                perm[(s - 1) * n : s * n] = _group_rows(keys, table)
        return cls(ids, words, offsets, perm)

    def nonempty_bitmap(self) -> np.ndarray | None:
        """Bit t set when bucket t of ``offsets`` holds rows (uint64 words), or None.

        Derived from ``offsets`` on first use (tens of milliseconds, 4 MB per process;
        nothing is saved, so indexes of every version get it), and only for sparse
        tables: see ``BITMAP_MAX_FILL`` (the ``bitmap_max_fill`` attribute).
        """
        if self._bitmap is False:
            offsets = np.asarray(self.offsets)
            full = offsets[1:] > offsets[:-1]
            bitmap = None
            if len(full) and full.mean() <= self.bitmap_max_fill:
                packed = np.packbits(full, bitorder="little")
                padded = np.zeros(-(-len(packed) // 8) * 8, np.uint8)
                padded[: len(packed)] = packed
                bitmap = padded.view(np.uint64)
            self._bitmap = bitmap
        return self._bitmap  # type: ignore[return-value]

    def plan(self, radius: int) -> Plan | None:
        """The probe plan for ``radius`` (cached), None when a scan is cheaper."""
        key = (radius, self.allow_scan)
        if key not in self._plans:
            self._plans[key] = make_plan(radius, len(self), allow_scan=self.allow_scan)
        return self._plans[key]

    def search(
        self, queries: np.ndarray, radius: int, *, use_c: bool = True, limit: int = 0
    ) -> Hits:
        """Every (query, row, distance) within ``radius``; exact. Order is unspecified.

        ``limit`` > 0 lets the C core stop each query after that many hits, for callers
        that only ask whether there is one; the other paths may return more.
        """
        if len(self) == 0 or len(queries) == 0 or radius < 0:
            return empty_hits()
        queries = np.ascontiguousarray(queries, np.uint64)
        plan = self.plan(radius)
        if _mihcore is not None and use_c:
            words = np.ascontiguousarray(self.words)
            if plan is None:
                return brute_force(words, queries, radius)
            else:
                raw = _mihcore.search(
                    words,
                    self.offsets,
                    self.perm,
                    queries,
                    radius,
                    plan.slot,
                    plan.flip,
                    plan.table,
                    plan.budget_array,
                    0,
                    limit,
                    self.nonempty_bitmap(),
                )
            q, r, d = raw
            return (
                np.frombuffer(q, np.int64),
                np.frombuffer(r, np.int64),
                np.frombuffer(d, np.int32),
            )
        if plan is None:
            return brute_force(self.words, queries, radius, use_c=False)
        parts = [
            self._search_chunk(queries[i : i + CHUNK], radius, plan, i)
            for i in range(0, len(queries), CHUNK)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    def _search_chunk(self, queries: np.ndarray, radius: int, plan: Plan, base: int) -> Hits:
        n = len(self)
        nq = len(queries)
        qkeys = np.stack([slot_keys(queries, s) for s in range(N_SLOTS)], axis=1)
        table_index = (qkeys[:, plan.slot] ^ plan.flip) + plan.table
        starts = self.offsets[table_index].astype(np.int64)
        lens = (self.offsets[table_index + 1] - starts).ravel()
        total = int(lens.sum())
        if total == 0:
            return empty_hits()
        # Expand the (start, length) ranges into positions without a Python loop.
        first = np.cumsum(lens) - lens
        pos = np.repeat((starts + plan.pos).ravel() - first, lens)
        pos += np.arange(total, dtype=np.int64)
        rows = np.where(pos < n, pos, self.perm[np.maximum(pos - n, 0)]).astype(np.int64)
        per_query = lens.reshape(nq, -1).sum(axis=1)
        qid = np.repeat(np.arange(nq, dtype=np.int64), per_query)
        d = np.bitwise_count(self.words[rows] ^ queries[qid]).sum(axis=1, dtype=np.int32)
        keep = d <= radius
        # A row can be found through several slots: keep each (query, row) once.
        key = np.unique(qid[keep] * n + rows[keep])
        q, r = np.divmod(key, n)
        d = np.bitwise_count(self.words[r] ^ queries[q]).sum(axis=1, dtype=np.int32)
        return q + base, r, d

    def save(self, directory: Path, prefix: str, *, keep: bool = False) -> list[str]:
        """Write the arrays; ``keep`` skips files already there (immutable segment).

        Besides the four tables, ``nonempty`` holds the bucket bitmap (empty array: the
        tables are dense and need none), so that a process opening the index does not
        derive it again. Indexes saved before it existed open fine: it is derived on
        first use.
        """
        names = []
        for part in ("ids", "words", "offsets", "perm"):
            save_array(directory, f"{prefix}.{part}", getattr(self, part), keep=keep)
            names.append(f"{prefix}.{part}")
        bitmap = self.nonempty_bitmap()
        bitmap = np.zeros(0, np.uint64) if bitmap is None else bitmap
        save_array(directory, f"{prefix}.nonempty", bitmap, keep=keep)
        names.append(f"{prefix}.nonempty")
        return names

    @classmethod
    def open(cls, directory: Path, prefix: str, *, mmap: bool = True) -> MihSegment:
        """Open memory-mapped (nothing read until queries touch it) or read into memory."""
        parts = ("ids", "words", "offsets", "perm")
        segment = cls(*[load_array(directory, f"{prefix}.{p}", mmap=mmap) for p in parts])
        if (directory / f"{prefix}.nonempty.npy").exists():
            bitmap = load_array(directory, f"{prefix}.nonempty", mmap=mmap)
            segment._bitmap = bitmap if len(bitmap) else None
        return segment
