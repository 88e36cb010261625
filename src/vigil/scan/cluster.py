"""The scan's workers on a Dask distributed cluster instead of local processes.

Why Dask: a user who outgrows one machine should not need another tool; Dask's
scheduler already re-runs a dead worker's tasks elsewhere, and its
``concurrent.futures`` executor lets ``vigil.parallel.ordered_map`` drive a cluster
exactly as it drives a local pool (batches weighed by bytes, a bounded window,
results in walk order). Rows still come back to this process, are matched here and
written to the case store, so the store must be one every process can reach:
PostgreSQL (``vigil.scan.case_scan`` refuses SQLite for a cluster scan).

The shared-path rule: every worker sees the evidence at the same path as the client
(a read-only NFS or SMB mount at the same mount point). ``check_roots`` asks every
worker to look at every root before the scan starts, and a worker that cannot see a
root, or sees something else there, stops the scan with an error naming both: a root
that some workers cannot read would otherwise become hundreds of error rows (or,
worse, rows from another machine's disk).

Pinning: ``ClusterExecutor(workers=..., resources=...)`` restricts the scan's tasks to
named workers or to workers started with a resource (``dask worker --resources
evidence-2026-0042=1`` on the hosts that mount that evidence); ``check_roots`` then
checks only those workers.

Memory allocator: Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``.
Setting that variable also switches off glibc's dynamic mmap threshold, so every 1 MiB
read buffer becomes an ``mmap``/``munmap`` pair with fresh zeroed pages; an earlier
study measured three times the CPU time on 1 MiB reads. Each task therefore sets, once
per worker process, the thresholds glibc would have reached by itself (``mallopt``).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

from vigil.errors import UsageError, VigilError

R = TypeVar("R")

#: glibc ``mallopt`` parameters (malloc.h) and the values set in every worker.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 << 20  # reads of up to 4 MiB reuse heap memory
TRIM_THRESHOLD = 8 << 20  # twice the mmap threshold, as glibc's dynamic rule sets it

_tuned = False


class ClusterError(VigilError):
    """The cluster cannot run this scan: unreachable, no workers, or evidence unseen."""


def _dask_client() -> type:
    try:
        from distributed import Client
    except ImportError as exc:  # optional extra
        raise UsageError(
            "a cluster scan needs Dask: pip install 'vigil[cluster]' (dask[distributed])"
        ) from exc
    return Client


def connect(address: str, *, timeout: float = 10.0) -> Any:
    """A ``distributed.Client`` on the scheduler at ``address`` (``tcp://HOST:8786``).

    Waits up to ``timeout`` seconds for the scheduler and for a first worker.
    """
    if "://" not in address:
        raise UsageError(f"a Dask scheduler address looks like tcp://HOST:8786, got {address!r}")
    client_class = _dask_client()
    try:
        client = client_class(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:  # workers may still be joining a scheduler that was just started
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as exc:
        client.close()
        raise ClusterError(f"the Dask scheduler at {address} has no workers") from exc
    return client


def cluster_jobs(client: Any, workers: Iterable[str] | None = None) -> int:
    """Threads on the cluster's workers (or on the named ones): the scan's parallelism."""
    threads = client.nthreads()
    chosen = set(workers) if workers else set(threads)
    return sum(n for w, n in threads.items() if w in chosen)


def look_at(roots: list[str]) -> dict[str, str]:
    """What this process sees at each root: ``file SIZE``, ``dir ENTRIES``, or why not.

    Run on every worker by ``check_roots``; a directory is described by its number of
    entries, so that an empty mount point or another disk at the same path differs.
    """
    seen: dict[str, str] = {}
    for root in roots:
        path = Path(root)
        try:
            if path.is_dir():
                seen[root] = f"dir {sum(1 for _ in path.iterdir())}"
            elif path.is_file():
                seen[root] = f"file {path.stat().st_size}"
            else:
                seen[root] = "missing" if not path.exists() else "not a file or folder"
        except OSError as exc:
            seen[root] = f"unreadable ({exc.strerror or exc})"
    return seen


def check_roots(client: Any, roots: list[Path], *, workers: list[str] | None = None) -> int:
    """Check that every worker (or every named one) sees each root as this process does.

    Returns the number of workers checked; raises ``ClusterError`` naming each worker
    and root that differ, or when there is no worker at all.
    """
    names = [str(r) for r in roots]
    here = look_at(names)
    try:
        seen = client.run(look_at, names, workers=workers)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot ask the cluster's workers about the evidence: {exc}") from exc
    if not seen:
        raise ClusterError("the Dask cluster has no workers")
    problems = [
        f"worker {worker} sees {root} as {there[root]}, this machine as {here[root]}"
        for worker, there in sorted(seen.items())
        for root in names
        if there.get(root) != here[root]
    ]
    if problems:
        raise ClusterError(
            "every worker must see the evidence at the same path (docs/scale.md): "
            + "; ".join(problems)
        )
    return len(seen)


def tune_malloc() -> bool:
    """Undo the effect of Dask's ``MALLOC_TRIM_THRESHOLD_`` in this process (glibc only)."""
    global _tuned
    if _tuned or not sys.platform.startswith("linux"):
        return _tuned
    try:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        ok = False
    _tuned = True
    return ok


def _on_worker(fn: Callable[..., R], *args: Any) -> R:
    tune_malloc()
    return fn(*args)


class ClusterExecutor(Executor):
    """A ``concurrent.futures.Executor`` over a Dask client, for ``ordered_map``.

    Tasks are impure (a batch run again after a worker died must run, not be taken
    from a cache) and may be pinned to ``workers`` or to workers with ``resources``.
    ``shutdown(cancel_futures=True)`` cancels only this executor's tasks; the client
    and the cluster stay up.
    """

    def __init__(
        self,
        client: Any,
        *,
        workers: list[str] | None = None,
        resources: dict[str, float] | None = None,
    ) -> None:
        """Submit through ``client``, optionally pinned."""
        options: dict[str, Any] = {"pure": False}
        if workers:
            options["workers"] = workers
        if resources:
            options["resources"] = resources
        self._inner = client.get_executor(**options)

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Run ``fn(*args)`` on a worker (keyword arguments are not used by the scan)."""
        if kwargs:
            raise TypeError("ClusterExecutor.submit takes positional arguments only")
        return self._inner.submit(_on_worker, fn, *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel this executor's tasks if asked; wait for the others if asked."""
        if cancel_futures:
            for future in list(self._inner._futures):
                future.cancel()
        self._inner.shutdown(wait=wait)


def executor_factory(
    client: Any,
    *,
    workers: list[str] | None = None,
    resources: dict[str, float] | None = None,
) -> Callable[[int], Executor]:
    """What ``run_scan(executor_factory=...)`` takes: jobs are the cluster's threads."""

    def factory(_jobs: int) -> Executor:
        return ClusterExecutor(client, workers=workers, resources=resources)

    return factory


def worker_pids(client: Any) -> dict[str, int]:
    """Each worker's process id (for tests and for an operator's ``ps``)."""
    return client.run(os.getpid)
