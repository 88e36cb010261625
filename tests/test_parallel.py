"""The ordered, bounded process-pool map that hashing (and later scanning) runs on."""

from __future__ import annotations

import os

import pytest

from vigil.parallel import ordered_map


def square(x: int) -> int:
    return x * x


def crash_on_seven(x: int) -> int:
    if x == 7:
        os._exit(3)  # a worker dying, as a decoder crash would kill it
    return x * x


def raise_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def failure(x: int, exc: BaseException) -> int:
    return -x


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_order(jobs: int) -> None:
    items = list(range(50))
    out = list(ordered_map(square, items, jobs=jobs, on_failure=failure, batch_size=3, window=2))
    assert out == [x * x for x in items]


def test_a_dying_worker_costs_only_its_item() -> None:
    out = list(ordered_map(crash_on_seven, range(20), jobs=2, on_failure=failure, batch_size=4))
    assert out == [-7 if x == 7 else x * x for x in range(20)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_exception_becomes_a_failure_row(jobs: int) -> None:
    out = list(ordered_map(raise_on_three, range(6), jobs=jobs, on_failure=failure, batch_size=1))
    assert out == [0, 1, 2, -3, 4, 5]


def test_batches_close_at_the_weight_limit() -> None:
    from vigil.parallel import _batches

    sizes = [1, 1, 10, 1, 1, 1, 30, 1]
    batches = list(_batches(sizes, 4, lambda x: x, 10))
    assert batches == [[1, 1, 10], [1, 1, 1, 30], [1]]
    assert [x for b in batches for x in b] == sizes
