"""Run a function over many items on a process pool: batched, bounded, in order.

Built on the ``concurrent.futures.Executor`` interface only (submit and result),
so that the same code can later drive a cluster's executor. Items go out in
batches (one task per batch, to amortise inter-process overhead), at most
``window`` batches are in flight (memory stays bounded whatever the input size),
and results come back in input order as soon as they are ready. A batch whose
worker died is retried once on a fresh pool, then each of its items is handed to
``on_failure`` so that the caller records an error row instead of stopping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _run_batch(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    return [fn(item) for item in batch]


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    jobs: int,
    on_failure: Callable[[T, BaseException], R],
    batch_size: int = 4,
    window: int | None = None,
    executor_factory: Callable[[int], Executor] | None = None,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in order, computed on ``jobs`` processes."""
    if jobs <= 1:
        for item in items:
            try:
                yield fn(item)
            except Exception as exc:
                yield on_failure(item, exc)
        return
    factory = executor_factory or (lambda n: ProcessPoolExecutor(max_workers=n))
    window = window or jobs * 2
    executor = factory(jobs)
    pending: deque[tuple[list[T], Future[list[R]]]] = deque()
    source = _batches(items, batch_size)
    try:
        for batch in islice(source, window):
            pending.append((batch, executor.submit(_run_batch, fn, batch)))
        while pending:
            batch, future = pending.popleft()
            try:
                results = future.result()
            except BrokenProcessPool:
                executor.shutdown(wait=False, cancel_futures=True)
                results, executor = _retry_alone(factory, jobs, fn, batch, on_failure)
                # The batches behind it were lost with the pool: resubmit them.
                pending = deque((b, executor.submit(_run_batch, fn, b)) for b, _ in list(pending))
            except Exception as exc:
                results = [on_failure(item, exc) for item in batch]
            yield from results
            for nxt in islice(source, 1):
                pending.append((nxt, executor.submit(_run_batch, fn, nxt)))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _retry_alone(
    factory: Callable[[int], Executor],
    jobs: int,
    fn: Callable[[T], R],
    batch: list[T],
    on_failure: Callable[[T, BaseException], R],
) -> tuple[list[R], Executor]:
    """Run each item of a batch that killed its worker on its own, to find the culprit.

    Returns the results and a healthy executor for the work that follows.
    """
    executor = factory(jobs)
    results: list[R] = []
    for item in batch:
        try:
            results.extend(executor.submit(_run_batch, fn, [item]).result())
        except BrokenProcessPool as exc:
            results.append(on_failure(item, exc))
            executor.shutdown(wait=False, cancel_futures=True)
            executor = factory(jobs)
        except Exception as exc:
            results.append(on_failure(item, exc))
    return results, executor
