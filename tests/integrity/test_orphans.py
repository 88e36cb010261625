"""Finding 4: workers die with their parent, for the scan's pool and the service's workers.

``kill -9`` of ``vigil scan`` (an operator, the OOM killer) or of ``vigil serve
--workers 2`` leaves no process behind holding memory and open evidence files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integrity.hostile import bomb_zip
from tests.integrity.procs import descendants, kill_all, wait_gone
from tests.web.server import free_port, wait_for

VIGIL = Path(sys.executable).parent / "vigil"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_HOME"] = str(home)
    return env


def test_sigkill_of_a_scan_leaves_no_worker(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    bomb = bomb_zip(leaf_bytes=3 << 20)  # each keeps a worker busy for seconds
    for i in range(6):
        (evidence / f"b{i}.zip").write_bytes(bomb)
    proc = subprocess.Popen(
        [str(VIGIL), "scan", str(evidence), "--case", "c", "-q", "--jobs", "2"],
        env=_env(tmp_path / "home"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers: set[int] = set()
    try:
        assert wait_for(lambda: len(descendants(proc.pid)) >= 2, timeout=60)
        time.sleep(0.5)
        workers = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_gone(workers) == set()
    finally:
        kill_all(workers)


def test_sigkill_of_serve_leaves_no_worker(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(VIGIL), "serve", "--port", str(port), "--workers", "2"],
        env=_env(tmp_path / "home"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(base + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    children: set[int] = set()
    try:
        assert wait_for(ready, timeout=90)
        assert wait_for(lambda: len(descendants(proc.pid)) >= 3, timeout=30)  # manager + 2
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_gone(children) == set()
        assert not ready()
    finally:
        kill_all(children)
