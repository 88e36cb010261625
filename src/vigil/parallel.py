"""Run a function over many items on a process pool: batched, bounded, in order.

Built on the ``concurrent.futures.Executor`` interface only (submit and result),
so that the same code can later drive a cluster's executor. Items go out in
batches (one task per batch, to amortise inter-process overhead), at most
``window`` batches are in flight (memory stays bounded whatever the input size),
and results come back in input order as soon as they are ready. A batch whose
worker died is retried once on a fresh pool, then each of its items is handed to
``on_failure`` so that the caller records an error row instead of stopping.

On a Dask cluster (``vigil.scan.cluster``) a dying worker does not break the
executor: the scheduler re-runs the worker's tasks on another worker by itself, and
only a task that was running on ``allowed-failures`` workers that all died ends in
``KilledWorker``. That is this module's "worker died" too (recognised by name, as
this first stage never imports Dask): the batch is split and each item run alone, so
that the one file that kills workers becomes an error row and the rest are hashed;
the cluster's executor is not restarted (the other batches in flight are unharmed).

Workers die with their parent: ``die_with_parent`` (the pool's initialiser) asks the
Linux kernel to SIGKILL a worker when the process that started it dies, however it
dies (``kill -9``, the OOM killer), so that no worker lives on holding memory and open
evidence files. The service's uvicorn workers use the same function.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> bool:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere False).

    ``parent``: the pid the caller expects as its parent. If that parent is already
    gone (it died before this call; the child was re-parented) this process exits at
    once, closing the race between start-up and the request.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    return True


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A local process pool whose workers die with this process."""
    return ProcessPoolExecutor(
        max_workers=jobs, initializer=die_with_parent, initargs=(os.getpid(),)
    )


def idle_cores(samples: int = 3, interval: float = 0.002) -> int:
    """Cores with nothing to run right now (Linux: runnable tasks in ``/proc/loadavg``).

    The running count is instantaneous (unlike the load averages, which lag by a
    minute), so it is sampled a few times and the median taken; the caller's own thread
    is not counted. Elsewhere, or if it cannot be read: every core but the caller's.
    Used to size nested pools (one long video's segment workers inside a scan worker)
    so that processes never outnumber the cores by more than the cores again.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return cores - 1
        counts.append(running)
        if i + 1 < samples:
            time.sleep(interval)
    busy = sorted(counts)[len(counts) // 2] - 1  # not this thread
    return max(0, cores - 1 - busy)


def worker_died(exc: BaseException) -> bool:
    """Whether ``exc`` says that the worker running a task died (not that the task failed).

    ``BrokenProcessPool`` for a local pool; Dask's ``KilledWorker`` (by name: Dask is an
    optional dependency of a later stage) for a cluster.
    """
    return isinstance(exc, BrokenProcessPool) or any(
        c.__name__ == "KilledWorker" for c in type(exc).__mro__
    )


def _run_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    return [fn(item) for item in batch]


def _batches(
    items: Iterable[T], size: int, weight: Callable[[T], int] | None, max_weight: int
) -> Iterator[list[T]]:
    """Batches of at most ``size`` items, closed early once they weigh ``max_weight``.

    Weighing by bytes keeps one worker from getting all the large files of a folder
    while the others idle.
    """
    if weight is None:
        it = iter(items)
        while batch := list(islice(it, size)):
            yield batch
        return
    batch: list[T] = []
    load = 0
    for item in items:
        batch.append(item)
        load += weight(item)
        if len(batch) >= size or load >= max_weight:
            yield batch
            batch, load = [], 0
    if batch:
        yield batch


class _Pool:
    """An executor that can be replaced when a dying worker breaks it."""

    def __init__(self, factory: Callable[[int], Executor], jobs: int) -> None:
        self._factory, self._jobs = factory, jobs
        self.executor = factory(jobs)

    def submit(self, fn: Callable[[T], R], batch: list[T]) -> Future[list[R]]:
        try:
            return self.executor.submit(_run_batch, fn, batch)
        except BrokenProcessPool as exc:  # broken by an earlier batch: fail this one too
            failed: Future[list[R]] = Future()
            failed.set_exception(exc)
            return failed

    def restart(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._factory(self._jobs)


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int,
    on_failure: Callable[[T, BaseException], R],
    batch_size: int = 4,
    window: int | None = None,
    executor_factory: Callable[[int], Executor] | None = None,
    weight: Callable[[T], int] | None = None,
    max_weight: int = 64 << 20,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in order, computed on ``jobs`` processes."""
    if jobs <= 1:
        for item in items:
            try:
                yield fn(item)
            except Exception as exc:
                yield on_failure(item, exc)
        return
    pool = _Pool(executor_factory or worker_pool, jobs)
    pending: deque[tuple[list[T], Future[list[R]]]] = deque()
    source = _batches(items, batch_size, weight, max_weight)
    try:
        for batch in islice(source, window or jobs * 2):
            pending.append((batch, pool.submit(fn, batch)))
        while pending:
            batch, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                pool.restart()
                results = _retry_alone(pool, fn, batch, on_failure)
                # Batches in flight died with the pool: run again those without a result.
                pending = deque(
                    (b, f if f.done() and f.exception() is None else pool.submit(fn, b))
                    for b, f in pending
                )
            except Exception as exc:
                if worker_died(exc):  # a cluster's KilledWorker: the executor lives on
                    results = _retry_alone(pool, fn, batch, on_failure)
                else:
                    results = [on_failure(item, exc) for item in batch]
            yield from results
            for nxt in islice(source, 1):
                pending.append((nxt, pool.submit(fn, nxt)))
    finally:
        pool.executor.shutdown(wait=True, cancel_futures=True)


def _retry_alone(
    pool: _Pool,
    fn: Callable[[T], R],
    batch: list[T],
    on_failure: Callable[[T, BaseException], R],
) -> list[R]:
    """Run each item of a batch whose worker died on its own, to find the culprit."""
    results: list[R] = []
    for item in batch:
        try:
            results.extend(pool.submit(fn, [item]).result())
        except BrokenProcessPool as exc:
            results.append(on_failure(item, exc))
            pool.restart()
        except Exception as exc:  # KilledWorker included: Dask replaces its own workers
            results.append(on_failure(item, exc))
    return results
