"""Processes by parent, from /proc: the descendants of a process, and whether any live."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def _parents() -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # zombies hold nothing
            found[int(entry.name)] = int(fields[1])
    return found


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    parents = _parents()
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - out
        out |= frontier
    return out


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (not zombies)."""
    parents = _parents()
    return {pid for pid in pids if pid in parents}


def wait_gone(pids: set[int], timeout: float = 15) -> set[int]:
    """Wait until none of ``pids`` runs; return those still running at the timeout."""
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill_all(pids: set[int]) -> None:
    """Clean up after a failed test: SIGKILL what is left (only the test's own processes)."""
    for pid in alive(pids):
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
