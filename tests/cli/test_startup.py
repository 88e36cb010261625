"""Start-up: ``vigil --help`` and ``vigil hash one.png`` do not load what they do not use.

Timing is not asserted (shared, noisy machines); what is loaded is, and that is what
start-up time is made of: PyAV, FastAPI, Jinja2, WeasyPrint and the report and service
modules cost about 1.5 s together when imported for nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from vigil.cli.main import COMMANDS, load_command

PROBE = """
import json, sys
from vigil.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
HEAVY_FOR_ALL = ("av", "fastapi", "uvicorn", "jinja2", "weasyprint", "vigil.web", "vigil.report")


def _loaded(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_loads_no_command() -> None:
    loaded = _loaded("--help")
    assert not {
        m
        for m in loaded
        for h in (*HEAVY_FOR_ALL, "numpy", "PIL")
        if m == h or m.startswith(h + ".")
    }
    assert not [m for m in loaded if m.startswith("vigil.cli.") and m.endswith("_cmd")]


def test_hashing_one_picture_loads_no_video_or_service(tmp_path: Path) -> None:
    picture = tmp_path / "one.png"
    Image.new("RGB", (32, 32), (10, 20, 30)).save(picture)
    loaded = _loaded("hash", "--json", str(picture))
    assert not {m for m in loaded for h in HEAVY_FOR_ALL if m == h or m.startswith(h + ".")}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads(name: str) -> None:
    command = load_command(name)
    assert command.name == name and (command.help or "").strip()


def test_a_store_error_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A VigilError that a command does not handle itself still ends as a message and exit 1."""
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "apikey", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"VIGIL_HOME": str(tmp_path), "VIGIL_DATABASE_URL": "postgresql://127.0.0.1:1/none"},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("vigil apikey: cannot connect to PostgreSQL")
