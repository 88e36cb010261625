"""Keeping every serving process's view of the indexes current, without restarts.

A background thread polls one cheap version token of the store every second
(``Curation.version``: the service's change counter and the sets' import columns).
When it changes, the thread brings the shared on-disk indexes up to date
(``Catalog.refresh``: new entries appended to the delta, nothing rebuilt; a file lock
makes one process do the work and the others just open the result), reads the sets
and the disabled entries, and builds a new ``Snapshot``. Requests read
``Refresher.snapshot`` once and use that object throughout, and the new snapshot
replaces the old by one attribute assignment, so no request ever sees a half-updated
index. The main PDQ segment is memory-mapped: processes sharing a store share its
pages instead of each holding a private copy.

A write made through this process refreshes it before the write is answered (a client
reads its own writes), and is seen within a poll interval in every other process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from vigil.services.catalog import Catalog, default_root
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Snapshot
from vigil.store import open_store

log = logging.getLogger("vigil.web.freshness")


class Refresher:
    """Owns the current snapshot and the thread that renews it."""

    def __init__(self, url: str, root: Path | None, poll_seconds: float = 1.0) -> None:
        """Nothing is loaded until ``start`` (or ``refresh``)."""
        self.url = url
        self.root = root
        self.poll_seconds = poll_seconds
        self.snapshot: Snapshot | None = None
        self.last_poll_ok: float = 0.0
        self.last_error: str | None = None
        self.refreshes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store = None
        self._warmed: str | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Load the first snapshot, then keep it fresh in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="vigil-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close its store."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poke(self) -> None:
        """Poll now (after a write made through this process)."""
        self._wake.set()

    def age(self) -> float:
        """Seconds since the store was last polled successfully."""
        return time.time() - self.last_poll_ok if self.last_poll_ok else float("inf")

    def refresh(self) -> bool:
        """Poll once; build and swap in a new snapshot if the store changed."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        if self._store is None:
            self._store = open_store(self.url)
        store = self._store
        curation = HashSets(store)
        version = curation.version()
        if self.snapshot is not None and self.snapshot.version == version:
            self.last_poll_ok = time.time()
            return False
        catalog = Catalog(store, self.root or default_root(self.url))
        catalog.refresh()
        main_segment = getattr(catalog.pdq, "_segment_id", None)
        if main_segment != self._warmed:
            # Fault the mapped main segment in before serving from it, so that the first
            # lookups after a start or a compaction do not each wait on page faults.
            catalog.pdq.warm()
            self._warmed = main_segment
        sets = {int(i.id): i for i in HashSets(store).list() if i.id is not None}
        snapshot = Snapshot(
            version=version,
            pdq=catalog.pdq,
            vpdq=catalog.vpdq,
            sets=sets,
            disabled=curation.disabled(),
            built_at=time.time(),
        )
        self.snapshot = snapshot  # the atomic swap: readers hold the old one or this one
        self.refreshes += 1
        self.last_poll_ok = time.time()
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                self.last_error = None
            except Exception as exc:  # keep serving the last snapshot; readiness reports it
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("index refresh failed")
                with self._lock:
                    if self._store is not None:
                        with contextlib.suppress(Exception):
                            self._store.close()
                        self._store = None
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        if self._store is not None:
            self._store.close()
