"""Scans sharing one case at once (issue 19, items 1, 3 and 4), on both stores.

Several scans of different evidence into one new case, started together: each ends
normally, the case is one case holding every item once, each run's summary counts
only the items that run wrote (a scan of 3 files reports 3, not the other's too), and
the case's audit chain holds every run's start and finish. On SQLite a scan also waits
for an import that holds the write lock instead of failing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image

from tests.stores import store_url  # noqa: F401  (fixture)
from vigil.scan.case_scan import CaseScan, ScanRequest, scan_case
from vigil.store import open_store

SIZES = (3, 5, 7)


def _tree(root: Path, count: int, seed: int) -> Path:
    root.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (32, 32), (seed * 40 % 256, i * 30 % 256, 90)).save(root / f"{i}.png")
    return root


def test_scans_sharing_a_case_each_count_their_own_rows(
    tmp_path: Path,
    store_url: str,  # noqa: F811
) -> None:
    trees = [_tree(tmp_path / f"ev{n}", size, n) for n, size in enumerate(SIZES)]
    with open_store(store_url):
        pass  # created and migrated once, before the race
    barrier = threading.Barrier(len(trees))
    results: dict[int, CaseScan | BaseException] = {}

    def run(n: int) -> None:
        try:
            with open_store(store_url) as store:
                barrier.wait()
                results[n] = scan_case(store, ScanRequest(roots=[trees[n]], case="shared", jobs=1))
        except BaseException as exc:  # recorded and asserted on below
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(trees))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for n, size in enumerate(SIZES):
        outcome = results[n]
        assert isinstance(outcome, CaseScan), outcome
        assert outcome.summary.files == size, (n, outcome.summary)
        assert outcome.summary.items == size, (n, outcome.summary)
    assert len({r.case.id for r in results.values() if isinstance(r, CaseScan)}) == 1
    with open_store(store_url) as store:
        case = store.cases.get("shared")
        assert case is not None
        paths = [item.path for item in store.cases.items(case)]
        assert len(paths) == sum(SIZES) == len(set(paths))
        actions = [entry.action for entry in store.cases.audit_log(case)]
        assert actions.count("scan.start") + actions.count("scan.resume") == len(SIZES)
        assert actions.count("scan.finish") == len(SIZES)
