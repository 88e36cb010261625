"""The scan's sink into a case of the store (``vigil.store.cases``)."""

from __future__ import annotations

from vigil.records import ScanItem
from vigil.store import Store
from vigil.store.cases import Case


class StoreCaseSink:
    """Writes each source's rows into the case, one transaction per source."""

    def __init__(self, store: Store, case: Case) -> None:
        """Write into ``case`` of ``store``."""
        self.store, self.case = store, case

    def done_sources(self) -> dict[str, tuple[int | None, float | None]]:
        """Sources the case already holds (from an earlier, interrupted run)."""
        return self.store.cases.done_sources(self.case)

    def record(self, seq: int, items: list[ScanItem]) -> None:
        """Write one source and its items."""
        self.store.cases.record(self.case, seq, items)
