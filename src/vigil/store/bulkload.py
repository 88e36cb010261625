"""Loading one hash set's entries and its lookup index, fast and in bounded memory.

Entries are appended to ``hash_entries`` in file order: ``Entry`` records in batches
(rows that hold one MD5 and nothing else bind 3 values, not 9), ``DigestBlock`` runs
of plain lists through C iterators with no Python object per line. The index rows
are made afterwards by one ``INSERT ... SELECT ... ORDER BY digest`` per hash type
and ``entry_no`` range, so the database sorts (spilling to temporary files, never
holding the set in memory) and fills its B-tree in key order.

Measured and rejected: sorting plain-list digests with numpy and inserting them from
Python in segments. Each segment rewrote nearly every leaf page of the growing index,
and the Python objects for the keys cost more memory than the sort saved time: at
10 M MD5s it was slower (181 k/s against 264 k/s) and peaked at 750 MB against 600.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from vigil.hashsets.model import DIGEST_SIZES, DigestBlock, Entry
from vigil.store.database import Database

#: Stored codes of the indexed hash types. Frozen: they are in every database.
HASH_TYPE_CODES: dict[str, int] = {"md5": 1, "sha1": 2, "sha256": 3, "pdq": 4}
ENTRY_COLUMNS = ("set_id", "entry_no", "md5", "sha1", "sha256", "pdq", "vpdq", "category", "meta")
#: Entries per batch of the Entry path.
BATCH = 50_000


class BulkLoader:
    """Loads one set: ``load(items)`` then ``build_index()``, inside one transaction."""

    def __init__(self, db: Database, set_id: int) -> None:
        """Prepare to load the set ``set_id``."""
        self.db = db
        self.set_id = set_id
        self.count = 0
        #: entry_no ranges (inclusive) whose index rows the database will make.
        self.ranges: list[list[int]] = []

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
        """Make the index rows of every range of entries loaded."""
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
        self._indexed_by_database(first, self.count - 1)


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
