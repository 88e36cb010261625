"""The bundled example evidence hashes as the README says it does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_example_evidence() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "hash", "--json", str(EXAMPLES / "evidence")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1  # broken.jpg is corrupt on purpose
    rows = {
        Path(r["path"]).relative_to(EXAMPLES / "evidence").as_posix(): r
        for r in map(json.loads, result.stdout.splitlines())
    }
    assert rows["misc/IMG_0042.txt"]["type"] == "image/jpeg"  # content, not the name
    assert rows["misc/beach (copy).jpg"]["sha256"] == rows["holiday/beach.jpg"]["sha256"]
    assert "truncated" in rows["misc/broken.jpg"]["error"]
    assert len(rows["video/clip.mp4"]["vpdq"]) == 3
    assert [name for name, r in rows.items() if r["error"]] == ["misc/broken.jpg"]
    for name in ("holiday/beach.jpg", "holiday/forest.png", "holiday/sunset.webp"):
        assert rows[name]["pdq_quality"] >= 50
