"""A small pool of store connections for request handlers.

One ``Store`` holds one connection, and neither sqlite3 nor psycopg connections may be
used by two threads at once; handlers run in a thread pool, so each borrows a store
for the length of its work. The pool grows on demand up to ``size`` and then waits.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from vigil.store import Store, open_store


class StorePool:
    """Up to ``size`` open stores, lent one at a time."""

    def __init__(self, url: str, size: int = 8) -> None:
        """Open nothing yet; the first borrow opens (and migrates) the first store."""
        self.url = url
        self.size = size
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._opened = 0
        self._lock = threading.Lock()

    @contextmanager
    def store(self) -> Iterator[Store]:
        """Borrow a store; it goes back to the pool afterwards (or is closed if broken)."""
        store = self._take()
        ok = False
        try:
            yield store
            ok = True
        finally:
            if ok:
                self._idle.put(store)
            else:
                self._discard(store)

    def _take(self) -> Store:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._opened < self.size
            if grow:
                self._opened += 1
        if grow:
            try:
                return open_store(self.url)
            except BaseException:
                with self._lock:
                    self._opened -= 1
                raise
        return self._idle.get()

    def _discard(self, store: Store) -> None:
        """Keep a store whose work failed if its connection still answers, else close it."""
        try:
            store.ping()
        except Exception:
            with contextlib.suppress(Exception):
                store.close()
            with self._lock:
                self._opened -= 1
            return
        self._idle.put(store)

    def close(self) -> None:
        """Close every idle store."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
