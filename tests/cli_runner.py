"""Run the ``vigil`` command as a real process, with its own VIGIL_HOME."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def vigil(
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
