"""The real service in a subprocess (uvicorn on a free loopback port), for the web tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from vigil.store import open_store
from vigil.store.apikeys import ApiKeyRepository


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_keys(url: str) -> dict[str, str]:
    """One key per role, plus a slow (rate-limited) matcher key."""
    with open_store(url) as store:
        repo = ApiKeyRepository(store.db)
        keys = {role: repo.create(f"test-{role}", role) for role in ("matcher", "curator", "admin")}
        keys["slow"] = repo.create("test-slow", "matcher", rate_per_second=0.5)
    return keys


class Server:
    """``vigil.web.app:from_env`` under uvicorn, started and stopped by the test."""

    def __init__(
        self, url: str, home: Path, *, serve_args: list[str] | None = None, **env: str
    ) -> None:
        """``serve_args``: start ``vigil serve`` itself with these options (else uvicorn)."""
        self.url = url
        self.home = home
        self.env = env
        self.serve_args = serve_args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"server-{self.port}.log"

    def start(self) -> Server:
        env = {
            **os.environ,
            "VIGIL_DATABASE_URL": self.url,
            "VIGIL_HOME": str(self.home),
            "VIGIL_SERVE_POLL_SECONDS": "0.5",
            "VIGIL_SERVE_MAX_UPLOAD_BYTES": str(2 << 20),
            "VIGIL_SERVE_MAX_PIXELS": "4000000",
            **self.env,
        }
        self.home.mkdir(parents=True, exist_ok=True)
        log = self._log = self.log.open("ab")
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "vigil.web.app:from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        if self.serve_args is not None:
            argv = [sys.executable, "-m", "vigil", "serve", "--host", "127.0.0.1"]
            argv += ["--port", str(self.port), *self.serve_args]
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def client(self, key: str | None = None, header: str = "bearer") -> httpx.Client:
        headers = {}
        if key is not None:
            headers = (
                {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
            )
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(predicate, timeout: float = 10.0, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until true or ``timeout`` (a bound, not a speed claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
