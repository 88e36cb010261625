"""The scan on a real Dask cluster (scheduler and workers as processes on 127.0.0.1).

Each test compares a cluster scan's rows in PostgreSQL with the rows of a local scan of
the same evidence in the same store: equal lists, so nothing is lost and nothing is
doubled, however the cluster was hurt on the way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from tests.factory import image_bytes, picture
from tests.scale import killers
from tests.scale.cluster import Cluster
from tests.stores import postgres_schema_url
from vigil.errors import UsageError, VigilError
from vigil.parallel import ordered_map
from vigil.scan import cluster as dask_cluster
from vigil.scan.case_scan import ScanRequest, scan_case
from vigil.scan.cluster import ClusterError
from vigil.services.cases import CaseService
from vigil.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "evidence"


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example evidence (archives, a video, a disk image, a corrupt file) and 40 pictures."""
    root = tmp_path_factory.mktemp("seized") / "evidence"
    shutil.copytree(EXAMPLES, root)
    extra = root / "camera"
    extra.mkdir()
    for i in range(40):
        (extra / f"IMG_{i:04d}.jpg").write_bytes(image_bytes("JPEG", picture(seed=i)))
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    # A task is given up (KilledWorker) after its second dead worker, not its fourth:
    # the test of a file that kills workers runs in seconds.
    c = Cluster({"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})
    c.add_worker()
    c.add_worker()
    try:
        c.client(2).close()  # both workers joined
        yield c
    finally:
        c.close()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    for url in postgres_schema_url():
        monkeypatch.setenv("VIGIL_DATABASE_URL", url)
        s = open_store(url)
        try:
            yield s
        finally:
            s.close()


def rows(store: Store, case: str) -> list[dict]:
    cases = CaseService(store)
    found = [r.to_json() for r in cases.items(cases.require(case))]
    return sorted(found, key=lambda r: (r["source"], r["path"]))


def local_rows(store: Store, evidence: Path) -> list[dict]:
    scan_case(store, ScanRequest(roots=[evidence], case="local", jobs=2))
    return rows(store, "local")


def test_a_cluster_scan_gives_exactly_the_rows_of_a_local_scan(
    store: Store, evidence: Path, cluster: Cluster
) -> None:
    outcome = scan_case(
        store, ScanRequest(roots=[evidence], case="on-cluster", cluster=cluster.address)
    )
    assert outcome.summary.items > 60 and outcome.summary.errors == 1  # the corrupt file
    assert rows(store, "on-cluster") == local_rows(store, evidence)


def test_killing_a_worker_mid_scan_loses_and_doubles_nothing(
    store: Store, evidence: Path, cluster: Cluster
) -> None:
    client = cluster.client(2)
    try:
        pids = list(dask_cluster.worker_pids(client).values())
    finally:
        client.close()
    killed: list[int] = []

    def kill_one(progress) -> None:  # type: ignore[no-untyped-def]
        if not killed and progress.files_done >= 3:
            os.kill(pids[0], signal.SIGKILL)  # the worker process; its nanny starts another
            killed.append(progress.files_done)

    outcome = scan_case(
        store,
        ScanRequest(roots=[evidence], case="hurt", cluster=cluster.address),
        on_progress=kill_one,
    )
    assert killed and killed[0] < outcome.summary.files, "the worker was killed mid-scan"
    got = rows(store, "hurt")
    assert len({(r["source"], r["path"]) for r in got}) == len(got)  # nothing doubled
    assert got == local_rows(store, evidence)  # nothing lost, no error from the death
    cluster.client(2).close()  # the nanny brought the worker back for the next tests


def test_a_batch_that_kills_workers_is_split_to_its_culprit(cluster: Cluster) -> None:
    client = cluster.client(2)
    try:
        results = list(
            ordered_map(
                killers.square_or_die,
                range(16),
                jobs=2,
                batch_size=4,
                on_failure=lambda n, exc: (n, type(exc).__name__),
                executor_factory=dask_cluster.executor_factory(client),
            )
        )
    finally:
        client.close()
    culprit = killers.CULPRIT
    assert results[culprit] == (culprit, "KilledWorker")
    assert results[:culprit] + results[culprit + 1 :] == [n * n for n in range(16) if n != culprit]
    cluster.client(2).close()


def test_resume_after_the_client_dies(
    store: Store, evidence: Path, cluster: Cluster, tmp_path: Path
) -> None:
    vigil = Path(sys.executable).parent / "vigil"
    argv = [str(vigil), "scan", str(evidence), "--case", "resumed", "--quiet"]
    argv += ["--cluster", cluster.address]
    log = tmp_path / "client.log"
    with log.open("wb") as err:
        client_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    cases = CaseService(store)
    done = 0
    deadline = time.monotonic() + 300
    while client_proc.poll() is None and time.monotonic() < deadline:
        try:
            done = len(cases.done_sources(cases.require("resumed")))
        except Exception:
            done = 0
        if done >= 5:
            client_proc.send_signal(signal.SIGKILL)  # the client dies as a power cut would
            break
        time.sleep(0.05)
    client_proc.wait(30)
    assert client_proc.returncode == -signal.SIGKILL, log.read_text()  # killed mid-scan
    outcome = scan_case(
        store, ScanRequest(roots=[evidence], case="resumed", cluster=cluster.address)
    )
    assert outcome.resumed and outcome.summary.resumed_sources >= 5
    assert rows(store, "resumed") == local_rows(store, evidence)


def test_a_worker_that_cannot_see_the_evidence_is_reported(
    store: Store, evidence: Path, tmp_path: Path
) -> None:
    """One worker runs in a mount namespace where the evidence folder is an empty tmpfs.

    That is what a worker whose NFS mount is missing sees: the same path, other
    contents. Needs root (unshare, mount); skipped elsewhere.
    """
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private mount namespace needs root and unshare")
    blind = Cluster()
    try:
        blind.add_worker()
        hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
        hide += [f'mount -t tmpfs vigil-blind "{evidence}" && exec "$0" "$@"']
        blind.add_worker(hide)
        blind.client(2).close()
        with pytest.raises(ClusterError) as err:
            scan_case(store, ScanRequest(roots=[evidence], case="blind", cluster=blind.address))
    finally:
        blind.close()
    message = str(err.value)
    assert f"sees {evidence} as dir 0" in message and "same path" in message
    assert message.count("worker tcp://127.0.0.1:") == 1  # only the blind one
    with pytest.raises(VigilError):  # checked before the case was opened: nothing recorded
        CaseService(store).require("blind")


def test_sqlite_is_refused_for_a_cluster_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evidence: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.sqlite3'}"
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    monkeypatch.setenv("VIGIL_DATABASE_URL", url)
    store = open_store(url)
    try:
        with pytest.raises(UsageError, match="PostgreSQL"):
            scan_case(store, ScanRequest(roots=[evidence], case="c", cluster="tcp://127.0.0.1:1"))
    finally:
        store.close()


def test_a_scan_can_be_pinned_to_the_workers_that_hold_the_evidence(
    cluster: Cluster, evidence: Path
) -> None:
    client = cluster.client(2)
    try:
        chosen = sorted(client.nthreads())[0]
        assert dask_cluster.check_roots(client, [evidence], workers=[chosen]) == 1
        ran = list(
            ordered_map(
                killers.where,
                range(12),
                jobs=2,
                batch_size=2,
                on_failure=lambda n, exc: (n, repr(exc)),
                executor_factory=dask_cluster.executor_factory(client, workers=[chosen]),
            )
        )
    finally:
        client.close()
    assert ran == [(n, chosen) for n in range(12)]
