"""Task functions imported by the Dask workers (a test module's functions are not)."""

from __future__ import annotations

import os

CULPRIT = 7


def square_or_die(n: int) -> int:
    """Kill the worker process on the culprit item, as a decoder crash would."""
    if n == CULPRIT:
        os._exit(9)
    return n * n


def where(n: int) -> tuple[int, str]:
    """The item and the address of the worker that ran it."""
    from distributed import get_worker

    return n, get_worker().address
