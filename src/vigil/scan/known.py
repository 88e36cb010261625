"""Known-file test for scan workers: is the content in an ``ignore`` hash set.

Workers are separate processes (or machines): each opens its own connection to the
store on first use, so the test object itself is small and picklable. The store's
digest index (a B-tree keyed by hash type and digest) answers in well under a
millisecond, and NSRL-sized sets stay on disk instead of in every worker's memory.
"""

from __future__ import annotations

from typing import Any

from vigil.signals.crypto import Digests


class IgnoreSetLookup:
    """Callable: True when an ignore set named in ``sets`` holds any of the digests."""

    def __init__(self, url: str, sets: tuple[str, ...]) -> None:
        """Remember where to look; connect lazily, once per process."""
        self.url = url
        self.sets = frozenset(sets)
        self._store: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "sets": self.sets, "_store": None}

    def __call__(self, digests: Digests) -> bool:
        """Whether the content is known."""
        if not self.sets:
            return False
        if self._store is None:
            from vigil.store import open_store

            self._store = open_store(self.url)
        hits = self._store.hashsets.lookup(
            [("md5", digests.md5), ("sha1", digests.sha1), ("sha256", digests.sha256)]
        )
        return any(hit.set_name in self.sets for hit in hits)
