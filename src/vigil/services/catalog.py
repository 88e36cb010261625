"""Indexes beside the store: built from its hash sets, brought up to date when opened.

The store is the truth; the PDQ and vPDQ indexes are caches of it, kept in
``$VIGIL_HOME/indexes/<database key>/`` as plain arrays. The catalog remembers which
version of every hash set it indexed (id, import time, entry count). When opened, it
compares that with the store: entries of a set that was deleted or re-imported are
disabled (tombstones), entries of a new or re-imported set are added to the delta;
nothing is rebuilt unless the delta grows past a share of the main segment, when the
index is compacted. A set that only grew (same import, more entries: the service adds
entries one by one, and entry numbers only grow) has just its new entries added, found
by the highest entry number indexed, so one hash added to a bank of a million is one
row read, not a million. A file lock serialises two processes refreshing at once; indexes
and the state file are replaced atomically, so a reader never sees a half-written one.

Exact digests (MD5, SHA-1, SHA-256) need no cache: the store's own ``hash_index``
B-tree answers them (see ``vigil.store.hashsets``).

Entry ids pack the store's key: ``set_id << 32 | entry_no``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vigil.errors import VigilError
from vigil.fsutil import atomic_write
from vigil.index.bits import bytes_to_words
from vigil.index.pdq_index import PdqIndex
from vigil.index.vpdq_index import VpdqIndex
from vigil.store import Store, database_url, vigil_home

log = logging.getLogger("vigil.catalog")

STATE_FILE = "catalog.json"
#: Compact when the delta holds more rows than this share of the main segment.
COMPACT_SHARE = 0.2
COMPACT_MIN_ROWS = 50_000


def entry_id(set_id: int, entry_no: int) -> int:
    """The index id of a store entry."""
    return (set_id << 32) | entry_no


def split_entry_id(eid: int) -> tuple[int, int]:
    """``(set_id, entry_no)`` of an index id."""
    return eid >> 32, eid & 0xFFFFFFFF


def default_root(url: str | None = None) -> Path:
    """Where the indexes of the configured database live."""
    key = hashlib.sha256((url or database_url()).encode()).hexdigest()[:16]
    return vigil_home() / "indexes" / key


SetVersions = dict[str, list[object]]


class Catalog:
    """The PDQ and vPDQ indexes of one store, up to date with it."""

    def __init__(self, store: Store, root: Path | None = None) -> None:
        """Use the indexes under ``root`` (default: beside the configured database)."""
        self.store = store
        self.root = root or default_root()
        self._pdq: PdqIndex | None = None
        self._vpdq: VpdqIndex | None = None

    @property
    def pdq(self) -> PdqIndex:
        """The PDQ index, refreshed on first use."""
        if self._pdq is None:
            self.refresh()
        assert self._pdq is not None
        return self._pdq

    @property
    def vpdq(self) -> VpdqIndex:
        """The vPDQ index, refreshed on first use."""
        if self._vpdq is None:
            self.refresh()
        assert self._vpdq is not None
        return self._vpdq

    def _current(self) -> SetVersions:
        """Per set: import time, entry count and the highest entry number (-1: none)."""
        return {
            str(info.id): [
                info.imported_at.isoformat() if info.imported_at else None,
                info.entry_count,
                self._top_entry(int(info.id or 0)),
            ]
            for info in self.store.hashsets.list()
        }

    def _top_entry(self, set_id: int) -> int:
        """The set's highest entry number (one primary-key seek), -1 if it has none."""
        return self.store.hashsets.top_entry(set_id)

    def refresh(self) -> bool:
        """Bring the indexes up to date with the store; True if anything changed."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root / ".lock"):
            current = self._current()
            state = self._read_state()
            pdq_dir, vpdq_dir = self.root / "pdq", self.root / "vpdq"
            saved = None
            if state is not None and (pdq_dir / "manifest.json").exists():
                saved = _open_saved(pdq_dir, vpdq_dir)
            if saved is None:
                pdq = PdqIndex.from_arrays(*self._pdq_rows(list(current)))
                vpdq = VpdqIndex.build(self._vpdq_rows(list(current)))
                changed = True
            else:
                pdq, vpdq = saved
                grown = [s for s in state if _grew(state[s], current.get(s))]
                stale = [s for s in state if state[s] != current.get(s) and s not in grown]
                fresh = [s for s in current if state.get(s) != current[s] and s not in grown]
                changed = bool(stale or fresh or grown)
                if stale:
                    doomed = {int(s) for s in stale}
                    live_ids = pdq.live_rows()[0]
                    pdq.disable(live_ids[np.isin(live_ids >> 32, list(doomed))])
                    vpdq.disable([v for v in vpdq.counts if (v >> 32) in doomed])
                if fresh:
                    pdq.add_arrays(*self._pdq_rows(fresh))
                    vpdq.add(self._vpdq_rows(fresh))
                for sid in grown:
                    after = int(state[sid][2])  # type: ignore[call-overload]
                    pdq.add_arrays(*self._pdq_rows([sid], after))
                    vpdq.add(self._vpdq_rows([sid], after))
                if pdq.delta_size > max(COMPACT_MIN_ROWS, COMPACT_SHARE * len(pdq)):
                    pdq = pdq.compact()
            if changed:
                pdq.save(pdq_dir)
                vpdq.save(vpdq_dir)
                self._write_state(current)
            self._pdq, self._vpdq = pdq, vpdq
            return changed

    def _pdq_rows(self, set_ids: list[str], after: int = -1) -> tuple[np.ndarray, np.ndarray]:
        ids: list[int] = []
        blobs: list[bytes] = []
        for sid in set_ids:
            for entry_no, pdq in self.store.hashsets.signal_rows(int(sid), "pdq", after):
                ids.append(entry_id(int(sid), int(entry_no)))
                blobs.append(bytes(pdq))
        raw = np.frombuffer(b"".join(blobs), np.uint8).reshape(-1, 32)
        return np.array(ids, np.int64), bytes_to_words(raw)

    def _vpdq_rows(self, set_ids: list[str], after: int = -1) -> Iterator[tuple[int, str]]:
        for sid in set_ids:
            for entry_no, value in self.store.hashsets.signal_rows(int(sid), "vpdq", after):
                yield entry_id(int(sid), int(entry_no)), value

    def _read_state(self) -> SetVersions | None:
        try:
            return json.loads((self.root / STATE_FILE).read_text())["sets"]
        except (OSError, ValueError, KeyError):
            return None

    def _write_state(self, sets: SetVersions) -> None:
        text = json.dumps({"sets": sets}, indent=1, sort_keys=True) + "\n"
        atomic_write(self.root / STATE_FILE, text, mode=None)


def _open_saved(pdq_dir: Path, vpdq_dir: Path) -> tuple[PdqIndex, VpdqIndex] | None:
    """The saved indexes, or None when they cannot be opened.

    An older or newer format or a damaged file: indexes are caches of the store, so
    they are rebuilt from it rather than trusted or fatal.
    """
    try:
        return PdqIndex.open(pdq_dir), VpdqIndex.open(vpdq_dir)
    except (VigilError, OSError, ValueError, KeyError) as exc:
        log.warning("rebuilding the indexes in %s: %s", pdq_dir.parent, exc)
        return None


def _grew(before: list[object], now: list[object] | None) -> bool:
    """Whether a set only gained entries: same import, more entries, higher numbers."""
    if now is None or len(before) < 3 or len(now) < 3 or before[0] != now[0]:
        return False
    return (
        int(now[1]) > int(before[1])  # type: ignore[call-overload]
        and int(now[2]) > int(before[2])  # type: ignore[call-overload]
    )


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
