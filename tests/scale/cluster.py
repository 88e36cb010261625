"""Real Dask scheduler and worker processes on 127.0.0.1 for the scale tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A scheduler and workers started as processes; stopped (by their own pids) on close."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"]
        )

    def _start(self, args: Sequence[str], prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "dask", *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def add_worker(self, prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """One worker process (under a nanny that restarts it), one thread."""
        return self._start(
            [
                "worker",
                self.address,
                "--host",
                "127.0.0.1",
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--death-timeout",
                "60",
            ],
            prefix,
        )

    def client(self, workers: int, timeout: float = 90.0):  # type: ignore[no-untyped-def]
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            try:
                client = Client(self.address, timeout=5, set_as_default=False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        client.wait_for_workers(workers, timeout=timeout)
        return client

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
