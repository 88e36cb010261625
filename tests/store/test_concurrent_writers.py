"""Many writers on one store at once, each with its own connection (both backends).

Issue 19: on PostgreSQL concurrent audit appends collided on ``(case_id, seq)``,
two openers of one new case collided on its name, and two creators of one bank could
both be told "created" while one set was dropped. Each test starts N threads at one
barrier; each thread opens its own store, as N processes would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from vigil.audit import verify_chain
from vigil.errors import UsageError
from vigil.records import ScanItem
from vigil.store import open_store
from vigil.store.curation import Curation

N = 8


def _together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released at once; each result or exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # the test inspects what each writer got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_audit_appends_all_succeed_and_chain(store_url: str) -> None:
    with open_store(store_url) as store:
        case, _ = store.cases.open("shared")

    def append(i: int) -> int:
        with open_store(store_url) as mine:
            for j in range(5):
                mine.cases.audit(case, f"examiner-{i}", "export", {"writer": i, "n": j})
        return i

    results = _together(N, append)
    assert results == list(range(N)), results
    with open_store(store_url) as store:
        log = store.cases.audit_log(case)
        assert len(log) == N * 5
        assert [e.seq for e in log] == list(range(1, N * 5 + 1))
        assert verify_chain(log) == []
        assert store.cases.audit_head(case) == log[-1]


def test_concurrent_opens_of_a_new_case_give_one_case(store_url: str) -> None:
    def open_case(_: int) -> tuple[int, bool]:
        with open_store(store_url) as mine:
            case, created = mine.cases.open("new-case", examiner="e")
            return case.id, created

    results = _together(N, open_case)
    assert not [r for r in results if isinstance(r, Exception)], [
        r for r in results if isinstance(r, Exception)
    ]
    assert len({case_id for case_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with open_store(store_url) as store:
        assert store.db.execute("SELECT COUNT(*) FROM cases")[0][0] == 1


def test_concurrent_creates_of_one_set_name_give_exactly_one(store_url: str) -> None:
    def create(i: int) -> int:
        with open_store(store_url) as mine:
            curation = Curation(mine.db)
            info = curation.create_set("bank")
            curation.add_entry("bank", {"md5": f"{i:032x}"})
            return int(info.id or 0)

    results = _together(N, create)
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, UsageError)]
    others = [r for r in results if not isinstance(r, UsageError)]
    assert len(made) == 1 and len(refused) == N - 1, others
    assert all("exists" in str(r) for r in refused)
    with open_store(store_url) as store:
        info = store.hashsets.require("bank")
        assert info.id == made[0] and info.entry_count == 1


def test_two_writers_of_one_source_take_turns(store_url: str) -> None:
    with open_store(store_url) as store:
        case, _ = store.cases.open("c")

    def write(i: int) -> int:
        items = [
            ScanItem(path=f"/e/src/{k}", source="/e/src", depth=0, kind="file", size=i)
            for k in range(3)
        ]
        with open_store(store_url) as mine:
            mine.cases.record(case, 0, items)
        return i

    assert _together(N, write) == list(range(N))
    with open_store(store_url) as store:
        assert store.cases.counts(case) == {"sources": 1, "items": 3}


def test_concurrent_curation_of_one_set_loses_nothing(store_url: str) -> None:
    with open_store(store_url) as store:
        curation = Curation(store.db)
        curation.create_set("bank")
        curation.add_entry("bank", {"md5": "0" * 32})

    def curate(i: int) -> int:
        with open_store(store_url) as mine:
            curation = Curation(mine.db)
            curation.update_attributes("bank", {f"k{i}": i})
            curation.set_disabled("bank", 0, i % 2 == 0)
            curation.set_disabled("bank", 0, True)
        return i

    assert _together(N, curate) == list(range(N))
    with open_store(store_url) as store:
        info = store.hashsets.require("bank")
        assert info.attributes == {f"k{i}": i for i in range(N)}
        assert list(Curation(store.db).disabled()) == [(info.id, 0)]


def test_a_scan_waits_for_a_long_import_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: an import holding the write lock longer than the busy timeout.

    The import here reads its entries slowly (as a huge file would be read), so it holds
    SQLite's write lock for about a second; the scan's connection gives up each wait
    after 50 ms, far less. The scan's writes wait their turn instead of failing.
    """
    import time

    from vigil.hashsets.model import Entry, HashSetInfo

    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    with open_store(url):
        pass
    importing = threading.Event()

    def slow_entries():  # type: ignore[no-untyped-def]
        for i in range(20):
            if i == 1:
                importing.set()
            time.sleep(0.05)
            yield Entry(md5=f"{i:032x}")

    def run_import() -> int:
        with open_store(url) as store:
            return store.hashsets.replace(HashSetInfo(name="big"), slow_entries()).entry_count

    importer = threading.Thread(target=run_import)
    importer.start()
    try:
        assert importing.wait(10)
        with open_store(url) as store:
            store.db.conn.execute("PRAGMA busy_timeout = 50")  # type: ignore[attr-defined]
            case, created = store.cases.open("during-import")
            store.cases.record(case, 0, [ScanItem(path="/e/f", source="/e/f")])
            store.cases.audit(case, "examiner", "scan.finish", {})
            assert created and store.cases.counts(case) == {"sources": 1, "items": 1}
            assert store.hashsets.require("big").entry_count == 20  # it waited for the import
    finally:
        importer.join()


def test_each_webhook_event_is_claimed_by_one_worker(store_url: str) -> None:
    from vigil.store.actions import ActionRepository

    with open_store(store_url) as store:
        actions = ActionRepository(store.db)
        actions.add_webhook("http://127.0.0.1:9/hook", "s" * 20)
        for i in range(30):
            actions.record_match("k", "/v1/match", {"md5": f"{i:032x}"}, [])

    def claim(_: int) -> list[int]:
        with open_store(store_url) as mine:
            return [event.row for event in ActionRepository(mine.db).claim(limit=30)]

    results = _together(N, claim)
    rows = [row for got in results for row in got]
    assert len(rows) == len(set(rows)) == 30, results


def test_concurrent_imports_of_one_name_all_succeed_and_one_remains(store_url: str) -> None:
    from vigil.hashsets.model import Entry, HashSetInfo

    def import_set(i: int) -> int:
        with open_store(store_url) as mine:
            info = mine.hashsets.replace(
                HashSetInfo(name="list"), [Entry(md5=f"{i:032x}"), Entry(md5=f"{i + 100:032x}")]
            )
            return int(info.id or 0)

    results = _together(N, import_set)
    assert all(isinstance(r, int) for r in results), results
    with open_store(store_url) as store:
        (only,) = store.hashsets.list()
        assert only.id in results and only.entry_count == 2
        assert store.db.execute("SELECT COUNT(*) FROM hash_entries")[0][0] == 2
        assert store.db.execute("SELECT COUNT(*) FROM hash_index")[0][0] == 2
