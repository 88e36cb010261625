"""The scan engine: parallel, ordered, resumable after a crash, on any Executor."""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from vigil.media.sources.base import Locator
from vigil.media.sources.registry import read_locator
from vigil.records import ScanItem
from vigil.scan.engine import MemorySink, run_scan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evidence"


class CrashingSink(MemorySink):
    """A sink whose process 'dies' after some sources were written."""

    def __init__(self, survive: int, base: MemorySink | None = None) -> None:
        super().__init__()
        if base is not None:
            self.rows, self.stamps = dict(base.rows), dict(base.stamps)
        self.survive = survive

    def record(self, seq: int, items: list[ScanItem]) -> None:
        if self.survive == 0:
            raise KeyboardInterrupt("power loss")
        self.survive -= 1
        super().record(seq, items)


def comparable(sink: MemorySink) -> list[dict]:
    return [row.to_json() for source in sorted(sink.rows) for row in sink.rows[source]]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("case") / "evidence"
    shutil.copytree(EXAMPLES, root)
    return root


@pytest.fixture(scope="module")
def reference(evidence: Path) -> MemorySink:
    sink = MemorySink()
    run_scan([evidence], sink, jobs=1)
    return sink


@pytest.mark.parametrize("crash_after", [0, 1, 4, 9])
def test_resume_after_a_crash_gives_the_same_rows(
    evidence: Path, reference: MemorySink, crash_after: int
) -> None:
    first = CrashingSink(crash_after)
    with pytest.raises(KeyboardInterrupt):
        run_scan([evidence], first, jobs=2)
    resumed = MemorySink()
    resumed.rows, resumed.stamps = dict(first.rows), dict(first.stamps)
    summary = run_scan([evidence], resumed, jobs=2)
    assert summary.resumed_sources == crash_after
    assert comparable(resumed) == comparable(reference)


def test_any_executor_runs_the_scan(evidence: Path, reference: MemorySink) -> None:
    sink = MemorySink()
    run_scan([evidence], sink, jobs=2, executor_factory=lambda n: ThreadPoolExecutor(n))
    assert comparable(sink) == comparable(reference)


def test_summary(evidence: Path) -> None:
    summary = run_scan([evidence], MemorySink(), jobs=1)
    # 12 files and members, the example disk image's row and its 15 items
    assert summary.items == 28 and summary.errors == 1
    assert summary.media == 14 and summary.unknown_media == 14  # none of the image's match


def test_every_row_reopens_by_its_locator(evidence: Path, reference: MemorySink) -> None:
    rows = [row for source in reference.rows.values() for row in source]
    members = [r for r in rows if r.depth and r.kind == "file" and r.error is None]
    assert members, "the example evidence has archive members"
    for row in rows:
        if row.kind == "file" and row.sha256 is not None:
            assert row.locator is not None
            data = read_locator(Locator.from_text(row.locator))
            assert hashlib.sha256(data).hexdigest() == row.sha256, row.path
