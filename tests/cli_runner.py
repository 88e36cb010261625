"""Run the ``vigil`` command with its own VIGIL_HOME: in this process, or as a real one.

``vigil(...)`` runs the command in-process through Click's test runner (the same
``vigil.cli.main.cli()`` the console script runs, with the environment swapped for
the call): fast, and faithful for everything but process-level behaviour.
``vigil_process(...)`` runs ``python -m vigil`` for what needs a real process:
signals, kill -9 and resume, read-only evidence, start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from vigil.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def vigil(
    *args: str, home: Path, timeout: float = 300, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``vigil ARGS`` in this process, with VIGIL_HOME (and the database URL) set for the call."""
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("VIGIL_")}
    env["VIGIL_HOME"] = str(home)
    if database_url is not None:
        env["VIGIL_DATABASE_URL"] = database_url
    result = CliRunner().invoke(cli(), list(args), env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(
        ["vigil", *args], result.exit_code, result.stdout, result.stderr
    )


def vigil_process(
    *args: str, home: Path, timeout: float = 300, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m vigil ARGS`` with VIGIL_HOME (and the database URL, if given) set."""
    env = {"VIGIL_HOME": str(home), "PATH": "/usr/bin:/bin"}
    if database_url is not None:
        env["VIGIL_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        capture_output=True, text=True, timeout=timeout, check=False, env=env,
    )  # fmt: skip


def scan_example(home: Path, *, case: str = "demo", examiner: str | None = None) -> None:
    """Import the example hash set and scan the example evidence into ``case``."""
    imported = vigil(
        "hashset", "import", str(EXAMPLES / "hashsets" / "example-vics.json"), "--name", "EX",
        home=home,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    extra = ("--examiner", examiner) if examiner else ()
    scanned = vigil("scan", str(EXAMPLES / "evidence"), "--case", case, *extra, home=home)
    assert scanned.returncode == 1, scanned.stderr  # 1: the example's corrupt file, on purpose
