"""Loading one hash set's entries and its lookup index, fast and in bounded memory.

Two paths, chosen per run of input:

* ``Entry`` records (VICS, CSV, NSRL, ...) are appended to ``hash_entries`` and
  their index rows are made afterwards by ``INSERT ... SELECT ... ORDER BY digest``
  over their ``entry_no`` ranges, so the database sorts and fills its B-tree in order.
* ``DigestBlock`` runs (plain lists, millions of bare digests) are appended with C
  iterators, and on SQLite their index rows are sorted here with numpy (an argsort
  of fixed-width byte strings, several times faster than SQLite's sorter on BLOBs)
  and inserted in key order, in segments of ``SEGMENT_ROWS`` so that memory stays
  bounded however long the list is. On PostgreSQL (COPY is already fast and its
  sort is good) they take the first path.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np

from vigil.hashsets.model import DIGEST_SIZES, DigestBlock, Entry
from vigil.store.database import Database

#: Stored codes of the indexed hash types. Frozen: they are in every database.
HASH_TYPE_CODES: dict[str, int] = {"md5": 1, "sha1": 2, "sha256": 3, "pdq": 4}
ENTRY_COLUMNS = ("set_id", "entry_no", "md5", "sha1", "sha256", "pdq", "vpdq", "category", "meta")
#: Entries per batch of the Entry path.
BATCH = 50_000
#: Digests sorted at once on the DigestBlock path (~2 M: ~200 MB of transient objects).
SEGMENT_ROWS = 2_000_000


class BulkLoader:
    """Loads one set: ``load(items)`` then ``build_index()``, inside one transaction."""

    def __init__(self, db: Database, set_id: int) -> None:
        """Prepare to load the set ``set_id``."""
        self.db = db
        self.set_id = set_id
        self.count = 0
        self.sort_here = db.dialect == "sqlite"
        #: entry_no ranges (inclusive) whose index rows the database will make.
        self.ranges: list[list[int]] = []
        self._segments: dict[str, list[tuple[bytes, int]]] = {}
        self._segment_rows: dict[str, int] = {}

    def load(self, items: Iterable[Entry | DigestBlock]) -> int:
        """Append every item to ``hash_entries``; return the number of entries."""
        pending: list[Entry] = []
        for item in items:
            if type(item) is DigestBlock:
                self._entries(pending)
                pending = []
                self._block(item)
                continue
            pending.append(item)  # type: ignore[arg-type]
            if len(pending) >= BATCH:
                self._entries(pending)
                pending = []
        self._entries(pending)
        return self.count

    def build_index(self) -> None:
        """Make the index rows not yet made: remaining segments, then the ranges."""
        for hash_type in list(self._segments):
            self._flush_segment(hash_type)
        for first, last in self.ranges:
            for hash_type, code in HASH_TYPE_CODES.items():
                self.db.execute(
                    "INSERT INTO hash_index (hash_type, digest, set_id, entry_no, category) "
                    f"SELECT {code}, {hash_type}, set_id, entry_no, category FROM hash_entries "
                    f"WHERE set_id = ? AND entry_no BETWEEN ? AND ? AND {hash_type} IS NOT NULL "
                    f"ORDER BY {hash_type}",
                    (self.set_id, first, last),
                )

    # -- the Entry path ----------------------------------------------------------------

    def _entries(self, entries: list[Entry]) -> None:
        """Insert entries; rows holding one MD5 and nothing else bind 3 values, not 9.

        Binding NULLs costs Python's sqlite3 more than SQLite's insert does.
        """
        if not entries:
            return
        first = self.count
        rows = list(_rows(self.set_id, first, entries))
        short = [r for r in rows if len(r) == 3]
        if short:
            self.db.bulk_insert("hash_entries", ENTRY_COLUMNS[:3], short)
        if len(short) != len(rows):
            self.db.bulk_insert("hash_entries", ENTRY_COLUMNS, [r for r in rows if len(r) != 3])
        self._indexed_by_database(first, first + len(entries) - 1)
        self.count += len(entries)

    def _indexed_by_database(self, first: int, last: int) -> None:
        if self.ranges and self.ranges[-1][1] == first - 1:
            self.ranges[-1][1] = last
        else:
            self.ranges.append([first, last])

    # -- the DigestBlock path ----------------------------------------------------------

    def _block(self, block: DigestBlock) -> None:
        size = DIGEST_SIZES[block.hash_type]
        raw = bytes.fromhex("".join(block.values))
        first = self.count
        digests = [raw[i : i + size] for i in range(0, len(raw), size)]
        self.db.bulk_insert(
            "hash_entries",
            ("set_id", "entry_no", block.hash_type),
            zip(itertools.repeat(self.set_id), itertools.count(first), digests, strict=False),
        )
        self.count += len(digests)
        if not self.sort_here:
            self._indexed_by_database(first, self.count - 1)
            return
        self._segments.setdefault(block.hash_type, []).append((raw, first))
        rows = self._segment_rows.get(block.hash_type, 0) + len(digests)
        self._segment_rows[block.hash_type] = rows
        if rows >= SEGMENT_ROWS:
            self._flush_segment(block.hash_type)

    def _flush_segment(self, hash_type: str) -> None:
        """Sort one segment's digests with numpy and insert its index rows in key order."""
        parts = self._segments.pop(hash_type, [])
        self._segment_rows.pop(hash_type, None)
        if not parts:
            return
        size = DIGEST_SIZES[hash_type]
        digests = np.frombuffer(b"".join(raw for raw, _ in parts), dtype=f"S{size}")
        numbers = np.concatenate(
            [np.arange(first, first + len(raw) // size, dtype=np.int64) for raw, first in parts]
        )
        # Fixed-width byte strings compare as memcmp does, which is SQLite's BLOB order.
        order = np.argsort(digests, kind="stable")
        ordered = digests[order].tobytes()  # raw bytes: .tolist() would drop trailing NULs
        keys = [ordered[i : i + size] for i in range(0, len(ordered), size)]
        self.db.bulk_insert(
            "hash_index",
            ("hash_type", "digest", "set_id", "entry_no"),
            zip(
                itertools.repeat(HASH_TYPE_CODES[hash_type]),
                keys,
                itertools.repeat(self.set_id),
                numbers[order].tolist(),
                strict=False,
            ),
        )


def _rows(set_id: int, first: int, entries: Iterable[Entry]) -> Iterable[tuple[Any, ...]]:
    """Entries as ``hash_entries`` rows; hex to raw bytes, metadata to compact JSON.

    A bare MD5 (no other hash, category or metadata) becomes a 3-tuple
    ``(set_id, entry_no, md5)``; every other entry a full 9-tuple.
    """
    import json

    fromhex = bytes.fromhex
    dumps = json.dumps
    for number, e in enumerate(entries, start=first):
        if (
            e.sha1 is None
            and e.category is None
            and e.sha256 is None
            and e.pdq is None
            and (
                e.vpdq is None
                and e.photodna is None
                and e.series is None
                and not e.tags
                and e.victim_identified is None
                and e.is_distributed is None
                and e.media_size is None
                and not e.file_names
                and e.comments is None
                and e.date_updated is None
                and not e.extra
                and e.md5 is not None
            )
        ):
            yield (set_id, number, fromhex(e.md5))
            continue
        if (
            e.photodna is None
            and e.series is None
            and not e.tags
            and e.victim_identified is None
            and e.is_distributed is None
            and e.media_size is None
            and not e.file_names
            and e.comments is None
            and e.date_updated is None
            and not e.extra
        ):
            meta = None
        else:
            meta = dumps(e.metadata(), ensure_ascii=False, separators=(",", ":"))
        yield (
            set_id,
            number,
            fromhex(e.md5) if e.md5 is not None else None,
            fromhex(e.sha1) if e.sha1 is not None else None,
            fromhex(e.sha256) if e.sha256 is not None else None,
            fromhex(e.pdq) if e.pdq is not None else None,
            e.vpdq,
            e.category,
            meta,
        )
