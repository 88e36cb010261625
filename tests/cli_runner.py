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
