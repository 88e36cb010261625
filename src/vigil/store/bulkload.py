"""Loading one hash set's entries, signals and lookup index, fast and in bounded memory.

Three tables take an imported set (``vigil.store.hashsets`` has the layout): one
``hash_entries`` row per entry (category, metadata), one ``hash_signals`` row per
(entry, signal type) holding the value, and one ``hash_index`` row per digest, keyed
by ``(hash_type, digest, ...)``: the lookup B-tree. Entry and signal rows are appended
in file order, which costs SQLite little. The index rows are what made imports slow:
filled by ``INSERT ... SELECT ... ORDER BY digest``, SQLite's sorter spent about 1 µs
of the 2.3 µs per line of a 10 M-line list (issue 16).

So on SQLite the loader sorts the digests itself, with numpy, in runs of at most
``RUN_ROWS`` rows and ``RUN_BYTES`` (a fixed memory bound whatever the list's size);
a set larger than one run spills its sorted runs to a temporary file and merges them
block by block (``_merge``), so the index is always filled once, in key order. Rows of plain lists
reach SQLite without one Python object per line: a block's digests travel as one
blob and its entry numbers as one JSON array, split into rows inside SQLite by
``json_each`` and ``substr``. PostgreSQL gets the entry and signal rows by ``COPY``
and sorts the index rows itself (``INSERT ... SELECT ... ORDER BY``), which it does well.

A ``DigestBlock`` (a plain list's run of lines) is stored by columns: its entries get
``hash_entries`` rows without metadata, and each column of up to ``BLOCK`` entries is
one ``hash_blocks`` row (migration 11): the digests of one type as one blob (the
type's code as ``kind``), the file names (``NAMES``), the sizes (``SIZES``) and the
extras (``EXTRAS``). No ``hash_signals`` row and no JSON per line: at 10 M lines of
``sha256sum`` that was a third of the bytes SQLite wrote (issue 16). ``BlockColumns``
reads one such block back; an entry's row (category, metadata written later by a
merge or a note) wins over its block's values.

Measured and rejected earlier: sorting in numpy *segments* and inserting each one:
every segment rewrote most leaf pages of the growing index (181 k/s against 264 k/s).
A merged, single pass in key order does not.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import Any

import numpy as np

from vigil.errors import HashSetError
from vigil.hashsets.model import DigestBlock, Entry
from vigil.signals import SIGNAL_TYPES
from vigil.store.database import Database

#: Rows per sorted run held in memory, and bytes of all pending runs together: a run
#: of SHA-256s alone (42 bytes a row with its entry number) stops at 1.6 M rows, one
#: of MD5s at 2.6 M. Sorting a run briefly takes about twice its size again: at
#: 96 MiB a 10 M-line md5sum import peaked at 631 MiB, at 64 MiB at 502 MiB in the
#: same time (issue 16's bound is 600 MiB; more runs cost the merge nothing measurable).
RUN_ROWS = 4_000_000
RUN_BYTES = 64 << 20
#: Rows per statement of the json_each paths and per merge block.
BLOCK = 65_536
#: Entries per batch of the Entry path.
BATCH = 50_000
#: Fewest consecutive entries (of the Entry path) holding the same digest types whose
#: digests are stored as a block; shorter runs get ``hash_signals`` rows.
MIN_RUN = 64
#: ``hash_blocks.kind`` of a block's non-digest columns (a digest column's kind is its
#: signal code, always > 0): file names, sizes, extras.
NAMES, SIZES, EXTRAS = 0, -1, -2

#: Migration 11: a plain list's blocks, column by column (see the module docstring).
BLOCKS_SQLITE = """
CREATE TABLE hash_blocks (
    set_id INTEGER NOT NULL,
    first_no INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (set_id, first_no, kind)
)
"""
#: Digest blobs do not compress: stored as they are (no pglz attempt per row).
BLOCKS_POSTGRES = """
CREATE TABLE hash_blocks (
    set_id BIGINT NOT NULL,
    first_no BIGINT NOT NULL,
    kind INTEGER NOT NULL,
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (set_id, first_no, kind)
);
ALTER TABLE hash_blocks ALTER COLUMN data SET STORAGE EXTERNAL
"""
#: PostgreSQL: the index rows of blocks, copied in unsorted, sorted into ``hash_index``
#: by the server in ``build_index`` (dropped at the commit).
_PG_LOAD = "vigil_index_load"
_NO_META = frozenset({"signals", "category"})


def encode_signal(name: str, value: Any) -> tuple[int, bytes, bool]:
    """``(code, stored bytes, is_digest)`` of one canonical signal value.

    Digest types are stored as raw digest bytes (16 for an MD5), every other value as
    its canonical text in UTF-8 (vPDQ's frame lines): one BLOB/BYTEA column holds both.
    """
    cls = SIGNAL_TYPES[name]
    if cls.digest_bytes is not None:
        return cls.code, bytes.fromhex(value), True
    return cls.code, str(value).encode("utf-8"), False


def decode_signal(code: int, value: Any) -> tuple[str, Any]:
    """``(name, canonical value)`` of a stored signal row (hex for digests, text otherwise)."""
    raw = bytes(value) if isinstance(value, memoryview) else value
    cls = _by_code().get(int(code))
    if cls is None:  # a type registered when the row was written, not now
        return f"signal-{code}", raw.hex() if isinstance(raw, bytes) else raw
    if cls.digest_bytes is not None:
        return cls.name, raw.hex()
    return cls.name, raw.decode("utf-8") if isinstance(raw, bytes) else raw


def _by_code() -> dict[int, Any]:
    return {cls.code: cls for cls in SIGNAL_TYPES.values()}


class BulkLoader:
    """Loads one set: ``load(items)`` then ``build_index()``, inside one transaction."""

    def __init__(self, db: Database, set_id: int) -> None:
        """Prepare to load the set ``set_id``."""
        self.db = db
        self.set_id = set_id
        self.count = 0
        self._sqlite = db.dialect == "sqlite"
        self._sorter = _IndexSorter() if self._sqlite else None
        self._categories: dict[str | None, int] = {None: 0}
        #: name -> (code, is a digest type), read from the registry once per load.
        self._types: dict[str, tuple[int, bool]] = {}
        #: PostgreSQL: whether the load table of block index rows exists.
        self._pg_load = False

    def load(self, items: Iterable[Entry | DigestBlock]) -> int:
        """Append every item's rows; return the number of entries."""
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
        """Fill ``hash_index`` with the set's digests, in key order."""
        if self._sorter is None:
            codes = sorted(c.code for c in SIGNAL_TYPES.values() if c.digest_bytes is not None)
            blocks = (
                f"UNION ALL SELECT hash_type, digest, {int(self.set_id)}, entry_no, category "
                f"FROM {_PG_LOAD} "
                if self._pg_load
                else ""
            )
            self.db.execute(
                "INSERT INTO hash_index (hash_type, digest, set_id, entry_no, category) "
                "SELECT * FROM (SELECT s.hash_type, s.value, s.set_id, s.entry_no, e.category "
                "FROM hash_signals s JOIN hash_entries e "
                "ON e.set_id = s.set_id AND e.entry_no = s.entry_no "
                f"WHERE s.set_id = ? AND s.hash_type IN ({', '.join(map(str, codes))}) "
                f"{blocks}) AS rows (hash_type, digest, set_id, entry_no, category) "
                "ORDER BY 1, 2, 4",
                (self.set_id,),
            )
            if self._pg_load:
                self.db.execute(f"DROP TABLE {_PG_LOAD}")
                self._pg_load = False
            return
        names = [None] * len(self._categories)
        for category, number in self._categories.items():
            names[number] = category  # type: ignore[call-overload]
        for code, rows in self._sorter.sorted_blocks():
            self._index_block(code, rows, names)
        self._sorter.close()

    def close(self) -> None:
        """Drop temporary files (after ``build_index`` or on an error)."""
        if self._sorter is not None:
            self._sorter.close()

    # -- the Entry path ----------------------------------------------------------------

    def _entries(self, entries: list[Entry]) -> None:
        """Entry rows, the entries' digests, and the digests handed to the sorter.

        Runs of at least ``MIN_RUN`` consecutive entries holding the same digest types
        (a VICS list's MD5, SHA-1 and PDQ) store those digests by columns
        (``hash_blocks``), as a plain list's blocks do; the entries' categories and
        metadata stay in their rows. Other digests and non-digest signals (vPDQ) are
        ``hash_signals`` rows.
        """
        if not entries:
            return
        first = self.count
        set_id = self.set_id
        encode = _ENCODER.encode
        entry_rows: list[tuple[Any, ...]] = []
        cats: list[int] = []
        for number, e in enumerate(entries, start=first):
            meta = _metadata(e)
            entry_rows.append((set_id, number, e.category, encode(meta) if meta else None))
            cats.append(self._category(e.category))
        self.db.bulk_insert("hash_entries", ("set_id", "entry_no", "category", "meta"), entry_rows)
        signal_rows: list[tuple[Any, ...]] = []
        index: dict[int, tuple[list[bytes], list[int], list[int]]] = {}
        block_rows: list[tuple[Any, ...]] = []
        for start, end, digests in _runs(entries, self._types):
            if digests and end - start >= MIN_RUN:
                run = entries[start:end]
                for name in digests:
                    code = self._types[name][0]
                    raw = bytes.fromhex("".join([e.signals[name] for e in run]))
                    block_rows.append((set_id, first + start, code, end - start, raw))
                    numbers = np.arange(first + start, first + end, dtype=np.int64)
                    self._index_rows(code, raw, numbers, cats[start:end], run)
                rest = [
                    (i, e)
                    for i, e in enumerate(run, start=first + start)
                    if len(e.signals) > len(digests)
                ]
                skip = frozenset(digests)
            else:
                rest = list(enumerate(entries[start:end], start=first + start))
                skip = frozenset()
            for number, e in rest:
                for name, value in e.signals.items():
                    if value is None or name in skip:
                        continue
                    code, digest = self._type(name, value)
                    stored = bytes.fromhex(value) if digest else str(value).encode("utf-8")
                    signal_rows.append((set_id, number, code, stored))
                    if digest:
                        digests_, numbers_, cats_ = index.setdefault(code, ([], [], []))
                        digests_.append(stored)
                        numbers_.append(number)
                        cats_.append(cats[number - first])
        if block_rows:
            self.db.executemany(
                "INSERT INTO hash_blocks (set_id, first_no, kind, n, data) VALUES (?, ?, ?, ?, ?)",
                block_rows,
            )
        signal_rows.sort(key=lambda r: (r[1], r[2]))
        self.db.bulk_insert(
            "hash_signals", ("set_id", "entry_no", "hash_type", "value"), signal_rows
        )
        if self._sorter is not None:
            for code, (values, numbers, categories) in index.items():
                self._sorter.add(code, b"".join(values), np.array(numbers), np.array(categories))
        self.count += len(entries)

    def _type(self, name: str, value: Any) -> tuple[int, bool]:
        """``(code, is a digest type)`` of a signal type, read from the registry once."""
        known = self._types.get(name)
        if known is None:
            known = self._types[name] = encode_signal(name, value)[::2]  # type: ignore[assignment]
        return known

    def _index_rows(
        self, code: int, raw: bytes, numbers: np.ndarray, cats: list[int], run: list[Entry]
    ) -> None:
        """A run's digests of one type for the index: the sorter, or PostgreSQL's load table."""
        if self._sorter is not None:
            self._sorter.add(code, raw, numbers, np.array(cats))
            return
        self._copy_index_rows(
            int(numbers[0]),
            len(numbers),
            [(code, len(raw) // len(numbers), raw)],
            [e.category for e in run],
        )

    def _category(self, category: str | None) -> int:
        """The category's number in this load (the index rows carry 16 bits of it)."""
        number = self._categories.get(category)
        if number is None:
            number = len(self._categories)
            if number > 0xFFFF:
                raise HashSetError("a hash set holds at most 65,535 distinct categories")
            self._categories[category] = number
        return number

    # -- the DigestBlock path ----------------------------------------------------------

    def _block(self, block: DigestBlock) -> None:
        """A run of entries holding the same hash types, stored by columns (``hash_blocks``)."""
        first, n = self.count, len(block.values)
        if not n:
            return
        columns = [(block.hash_type, block.values), *block.others.items()]
        raws = []
        decoded = block.raw or {}
        for name, values in columns:
            cls = SIGNAL_TYPES[name]
            size = cls.digest_bytes
            assert size is not None, "a DigestBlock holds digest types only"
            raw = decoded.get(name)
            if raw is None:
                raw = bytes.fromhex("".join(values))
            if len(values) != n or len(raw) != n * size:
                raise ValueError(f"DigestBlock column {name} does not hold {n} digests")
            raws.append((cls.code, size, raw))
        for name, column in (("file_names", block.file_names), ("sizes", block.sizes),
                             ("extras", block.extras), ("categories", block.categories),
                             ("metas", block.metas)):  # fmt: skip
            if column is not None and len(column) != n:
                raise ValueError(f"DigestBlock {name} does not hold {n} items")
        if block.categories is not None or block.metas is not None:
            self._rich_block(first, n, raws, block)
            return
        set_id = self.set_id
        rows: list[tuple[Any, ...]] = []
        for start in range(0, n, BLOCK):
            k = min(BLOCK, n - start)
            at = first + start
            for code, size, raw in raws:
                rows.append((set_id, at, code, k, raw[start * size : (start + k) * size]))
            if block.file_names is not None and any(block.file_names[start : start + k]):
                rows.append(
                    (set_id, at, NAMES, k, encode_texts(block.file_names[start : start + k]))
                )
            if block.sizes is not None and any(
                v is not None for v in block.sizes[start : start + k]
            ):
                rows.append((set_id, at, SIZES, k, _json_bytes(block.sizes[start : start + k])))
            if block.extras is not None and any(block.extras[start : start + k]):
                rows.append((set_id, at, EXTRAS, k, _extras_json(block.extras[start : start + k])))
        if self._sqlite:
            for start in range(0, n, BLOCK):
                k = min(BLOCK, n - start)
                self.db.execute(
                    "INSERT INTO hash_entries (set_id, entry_no) "
                    "SELECT ?, ? + key FROM json_each(?)",
                    (set_id, first + start, _zeros_json(k)),
                )
        else:
            self.db.bulk_insert(
                "hash_entries",
                ("set_id", "entry_no"),
                ((set_id, no) for no in range(first, first + n)),
            )
        self.db.executemany(
            "INSERT INTO hash_blocks (set_id, first_no, kind, n, data) VALUES (?, ?, ?, ?, ?)", rows
        )
        if self._sorter is not None:
            numbers = np.arange(first, first + n, dtype=np.int64)
            zeros = np.zeros(n, dtype=np.uint16)
            for code, _size, raw in raws:
                self._sorter.add(code, raw, numbers, zeros)
        else:
            self._copy_index_rows(first, n, raws)
        self.count += n

    def _rich_block(
        self, first: int, n: int, raws: list[tuple[int, int, bytes]], block: DigestBlock
    ) -> None:
        """A block with categories and metadata (VICS): rows for those, columns for digests."""
        if block.file_names is not None or block.sizes is not None or block.extras is not None:
            raise ValueError("a DigestBlock with metas holds names, sizes and extras in them")
        set_id = self.set_id
        categories = block.categories if block.categories is not None else [None] * n
        metas = block.metas if block.metas is not None else [None] * n
        encode = _ENCODER.encode
        self.db.bulk_insert(
            "hash_entries",
            ("set_id", "entry_no", "category", "meta"),
            (
                (set_id, no, category, encode(meta) if meta else None)
                for no, category, meta in zip(
                    range(first, first + n), categories, metas, strict=True
                )
            ),
        )
        rows = [
            (set_id, first + start, code, min(BLOCK, n - start),
             raw[start * size : (start + min(BLOCK, n - start)) * size])
            for start in range(0, n, BLOCK)
            for code, size, raw in raws
        ]  # fmt: skip
        self.db.executemany(
            "INSERT INTO hash_blocks (set_id, first_no, kind, n, data) VALUES (?, ?, ?, ?, ?)", rows
        )
        if self._sorter is not None:
            numbers = np.arange(first, first + n, dtype=np.int64)
            cats = np.array([self._category(c) for c in categories])
            for code, _size, raw in raws:
                self._sorter.add(code, raw, numbers, cats)
        else:
            self._copy_index_rows(first, n, raws, list(categories))
        self.count += n

    def _copy_index_rows(
        self,
        first: int,
        n: int,
        raws: list[tuple[int, int, bytes]],
        categories: list[str | None] | None = None,
    ) -> None:
        """PostgreSQL: a block's index rows into the unindexed load table (``build_index``)."""
        if not self._pg_load:
            self.db.execute(
                f"CREATE TEMP TABLE {_PG_LOAD} (hash_type INTEGER, digest BYTEA, "
                "entry_no BIGINT, category TEXT) ON COMMIT DROP"
            )
            self._pg_load = True
        cats = categories if categories is not None else [None] * n
        for code, size, raw in raws:
            self.db.bulk_insert(
                _PG_LOAD,
                ("hash_type", "digest", "entry_no", "category"),
                ((code, raw[i * size : (i + 1) * size], first + i, cats[i]) for i in range(n)),
            )

    def _index_block(self, code: int, rows: np.ndarray, names: list[str | None]) -> None:
        """Insert one sorted block of index rows (SQLite)."""
        size = rows.dtype["key"].itemsize
        cats = rows["cat"]
        if not cats.any():
            self.db.execute(
                "INSERT INTO hash_index (hash_type, digest, set_id, entry_no, category) "
                "SELECT ?, substr(?, ? * key + 1, ?), ?, value, NULL FROM json_each(?)",
                (
                    code,
                    rows["key"].tobytes(),
                    size,
                    size,
                    self.set_id,
                    json.dumps(rows["no"].tolist()),
                ),
            )
            return
        # Each row's entry number and category number packed in one integer, the
        # category's name looked up in a JSON list: 2x faster than binding five values
        # per row (VICS: every row has a category).
        packed = (rows["no"].astype(np.int64) << 16) | cats.astype(np.int64)
        self.db.execute(
            "INSERT INTO hash_index (hash_type, digest, set_id, entry_no, category) "
            "SELECT ?, substr(?, ? * key + 1, ?), ?, value >> 16, "
            "json_extract(?, '$[' || (value & 65535) || ']') FROM json_each(?)",
            (
                code,
                rows["key"].tobytes(),
                size,
                size,
                self.set_id,
                json.dumps(names, ensure_ascii=False),
                json.dumps(packed.tolist()),
            ),
        )


#: Entry fields that are not metadata, and the metadata fields in ``Entry.metadata()``
#: order (read once: ``dataclasses.fields`` per entry cost a VICS import 3%).
_META_FIELDS = tuple(f.name for f in fields(Entry) if f.name not in _NO_META)


def _metadata(e: Entry) -> dict[str, Any]:
    """``e.metadata()``, without looking the dataclass's fields up for every entry."""
    out: dict[str, Any] = {}
    for name in _META_FIELDS:
        value = getattr(e, name)
        if value is None or value == () or value == {}:
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


#: ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` without building an
#: encoder per call (that was a fifth of the time of formatting an RDS 2.x row's metadata).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _zeros_json(k: int) -> str:
    """A JSON array of ``k`` elements: the rows json_each makes (their ``key`` is 0..k-1)."""
    return "[" + "0," * (k - 1) + "0]"


def _runs(
    entries: list[Entry], types: dict[str, tuple[int, bool]]
) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """``(start, end, digest types)`` of runs of entries holding the same digest types.

    Types come sorted by name; an entry with a ``None`` signal value is a run of its
    own kind (no digest types: its signals go as rows).
    """
    start = 0
    current: tuple[str, ...] | None = None
    for i, e in enumerate(entries):
        names = []
        for name, value in e.signals.items():
            known = types.get(name)
            if known is None and name in SIGNAL_TYPES and value is not None:
                cls = SIGNAL_TYPES[name]
                known = types[name] = (cls.code, cls.digest_bytes is not None)
            if value is None:
                names = None
                break
            if known is not None and known[1]:
                names.append(name)
        key = tuple(sorted(names)) if names is not None else ()
        if key != current:
            if current is not None:
                yield start, i, current
            start, current = i, key
    if current is not None:
        yield start, len(entries), current


def _json_bytes(values: list[Any]) -> bytes:
    """A block's sizes or extras as one JSON array (UTF-8), ``null`` for none."""
    return _ENCODER.encode(values).encode("utf-8", "surrogatepass")


def _extras_json(extras: list[dict[str, Any] | None]) -> bytes:
    """A block's extras as one JSON array, ``null`` for none; each object encoded once.

    Readers share one ``extra`` among entries that carry the same (RDS 2.x files in
    the same products): encoding it once per block, not once per entry, was most of
    the JSON cost of an RDS 2.x block. Objects are told apart by identity (the list
    holds them all while this runs).
    """
    encode = _ENCODER.encode
    distinct = {id(extra): extra for extra in extras}
    texts = {key: encode(extra) if extra else "null" for key, extra in distinct.items()}
    return ("[" + ",".join(map(texts.__getitem__, map(id, extras))) + "]").encode(
        "utf-8", "surrogatepass"
    )


def encode_texts(texts: list[str]) -> bytes:
    """Texts (file names) as one blob, each readable on its own.

    Layout: a byte giving the offsets' width (4 or 8), the ``len + 1`` offsets
    (little-endian) into the UTF-8 body, then the body.

    Random access to entry ``i`` is two offsets and a slice (a match's hit needs its
    names without reading the block's); ASCII names (the common case) are measured
    without encoding each one.
    """
    joined = "".join(texts)
    if joined.isascii():
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        body = joined.encode("ascii")
    else:
        parts = [t.encode("utf-8", "surrogatepass") for t in texts]
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        body = b"".join(parts)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    width = 8 if len(body) >= 1 << 32 else 4
    return bytes((width,)) + offsets.astype(f"<u{width}").tobytes() + body


class BlockColumns:
    """One stored block read back: entries ``first`` .. ``first + n - 1`` of a set.

    ``columns`` maps ``hash_blocks.kind`` to its data. Values are decoded per entry,
    on demand: an export walks every entry, a match's hit reads one.
    """

    def __init__(self, first: int, n: int, columns: dict[int, bytes]) -> None:
        """Hold the block's columns (decoded lazily)."""
        self.first, self.n = first, n
        by_code = _by_code()
        self._digests: list[tuple[str, int, bytes]] = []
        for kind, data in sorted(columns.items()):
            cls = by_code.get(kind) if kind > 0 else None
            if kind > 0:
                name = cls.name if cls is not None else f"signal-{kind}"
                self._digests.append((name, len(data) // n, data))
        self._names = columns.get(NAMES)
        self._offsets: list[int] | None = None
        self._sizes_raw, self._extras_raw = columns.get(SIZES), columns.get(EXTRAS)
        self._sizes: list[Any] | None = None
        self._extras: list[Any] | None = None

    def __contains__(self, entry_no: int) -> bool:
        return self.first <= entry_no < self.first + self.n

    def signals(self, entry_no: int) -> dict[str, str]:
        """The entry's digests by type name, as canonical hex."""
        i = entry_no - self.first
        return {name: data[i * size : (i + 1) * size].hex() for name, size, data in self._digests}

    def meta(self, entry_no: int) -> dict[str, Any]:
        """The entry's metadata from the block (``Entry.metadata()``'s keys and order)."""
        i = entry_no - self.first
        out: dict[str, Any] = {}
        if self._sizes_raw is not None:
            if self._sizes is None:
                self._sizes = json.loads(self._sizes_raw.decode("utf-8", "surrogatepass"))
            if self._sizes[i] is not None:
                out["media_size"] = self._sizes[i]
        if self._names is not None:
            if self._offsets is None:
                width = self._names[0]
                self._offsets = np.frombuffer(
                    self._names, dtype=f"<u{width}", count=self.n + 1, offset=1
                ).tolist()
                self._body = 1 + width * (self.n + 1)
            lo, hi = self._offsets[i], self._offsets[i + 1]
            if hi > lo:
                name = self._names[self._body + lo : self._body + hi]
                out["file_names"] = [name.decode("utf-8", "surrogatepass")]
        if self._extras_raw is not None:
            if self._extras is None:
                self._extras = json.loads(self._extras_raw.decode("utf-8", "surrogatepass"))
            if self._extras[i]:
                out["extra"] = self._extras[i]
        return out


class _IndexSorter:
    """Index rows per hash type, sorted in runs of ``RUN_ROWS`` and merged on the way out.

    Each row is ``(key: the digest, no: the entry number, cat: a category number)``. A
    run is sorted with a stable argsort, so equal digests keep entry order, which is
    the index's own order after ``(hash_type, digest, set_id)``.
    """

    def __init__(self) -> None:
        self._pending: dict[int, list[np.ndarray]] = {}
        self._pending_rows: dict[int, int] = {}
        self._runs: dict[int, list[tuple[int, int]]] = {}  # code -> (offset, rows) in _file
        self._file: Any = None

    def add(self, code: int, raw: bytes, numbers: np.ndarray, cats: np.ndarray) -> None:
        """Add digests (``raw``: concatenated, one per number) of one hash type."""
        size = len(raw) // len(numbers)
        rows = np.empty(len(numbers), dtype=_dtype(size))
        rows["key"] = np.frombuffer(raw, dtype=f"S{size}")
        rows["no"] = numbers
        rows["cat"] = cats
        self._pending.setdefault(code, []).append(rows)
        self._pending_rows[code] = self._pending_rows.get(code, 0) + len(rows)
        # The bound is on all types pending together (hashdeep: MD5 and SHA-256 rows).
        held = {c: sum(p.nbytes for p in parts) for c, parts in self._pending.items()}
        if self._pending_rows[code] >= RUN_ROWS:
            self._spill(code)
        elif sum(held.values()) >= RUN_BYTES:
            self._spill(max(held, key=held.__getitem__))

    def _sorted_pending(self, code: int) -> np.ndarray:
        parts = self._pending.pop(code, [])
        self._pending_rows.pop(code, None)
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        del parts
        return rows[_key_order(rows)]

    def _spill(self, code: int) -> None:
        rows = self._sorted_pending(code)
        if self._file is None:
            # Closed by close(), after the merge has read it back.
            self._file = tempfile.TemporaryFile(prefix="vigil-index-")  # noqa: SIM115
        self._file.seek(0, os.SEEK_END)
        offset = self._file.tell()
        rows.tofile(self._file)
        self._runs.setdefault(code, []).append((offset, len(rows)))

    def sorted_blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(code, rows)`` blocks in index order: by code, then digest, then entry."""
        for code in sorted({*self._pending, *self._runs}):
            runs = self._runs.get(code, [])
            if not runs:
                rows = self._sorted_pending(code)
                for start in range(0, len(rows), BLOCK):
                    yield code, rows[start : start + BLOCK]
                continue
            if code in self._pending:
                self._spill(code)
            dtype = self._dtype_of(code)
            readers = [_RunReader(self._file, offset, count, dtype) for offset, count in runs]
            for rows in _merge(readers):
                yield code, rows

    def _dtype_of(self, code: int) -> np.dtype:
        for cls in SIGNAL_TYPES.values():
            if cls.code == code and cls.digest_bytes is not None:
                return _dtype(cls.digest_bytes)
        raise AssertionError(f"no digest type of code {code}")

    def close(self) -> None:
        """Drop the temporary file of spilled runs."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _key_order(rows: np.ndarray) -> np.ndarray:
    """The stable order of rows by their fixed-size byte keys, as SQLite compares BLOBs.

    Digests are near-random, so their first 8 bytes as one big-endian integer almost
    always decide (an integer sort, a third faster than comparing byte strings); when
    two keys share those bytes (a digest listed twice), the full keys are sorted. The
    prefixes are read through a strided view of the rows (the key is their first
    field): no copy of the keys, which was 60 MB of a run's peak at 10 M MD5s.
    """
    size = rows.dtype["key"].itemsize
    if size >= 8 and len(rows):
        rows = np.ascontiguousarray(rows)
        prefix = np.ndarray(
            (len(rows),), dtype=">u8", buffer=rows.data, offset=0, strides=(rows.itemsize,)
        ).astype("<u8")
        order = np.argsort(prefix, kind="stable")
        ordered = prefix[order]
        del prefix
        if not (ordered[1:] == ordered[:-1]).any():
            return order
        del ordered, order
    return np.argsort(rows["key"], kind="stable")


def _dtype(size: int) -> np.dtype:
    return np.dtype([("key", f"S{size}"), ("no", "<i8"), ("cat", "<u2")])


class _RunReader:
    """One sorted run in the spill file, read ``BLOCK`` rows at a time."""

    def __init__(self, handle: Any, offset: int, count: int, dtype: np.dtype) -> None:
        self.handle, self.offset, self.left, self.dtype = handle, offset, count, dtype

    def next_block(self) -> np.ndarray:
        k = min(BLOCK, self.left)
        if not k:
            return np.empty(0, dtype=self.dtype)
        self.handle.seek(self.offset)
        rows = np.fromfile(self.handle, dtype=self.dtype, count=k)
        self.offset += k * self.dtype.itemsize
        self.left -= k
        return rows


def _merge(readers: list[_RunReader]) -> Iterator[np.ndarray]:
    """Merge sorted runs block by block, vectorised.

    Every round takes, from each run's current block, the rows up to the smallest of
    the blocks' last keys: those rows come before anything not yet read, so they can
    be sorted together and written out. Runs are concatenated in run order and sorted
    stably, so equal digests keep entry order across runs.
    """
    heads = [r.next_block() for r in readers]
    while True:
        live = [i for i, h in enumerate(heads) if len(h)]
        if not live:
            return
        cutoff = min(heads[i]["key"][-1] for i in live)
        parts = []
        for i in live:
            head = heads[i]
            k = int(np.searchsorted(head["key"], cutoff, side="right"))
            parts.append(head[:k])
            heads[i] = head[k:] if k < len(head) else readers[i].next_block()
        rows = np.concatenate(parts)
        yield rows[_key_order(rows)]
