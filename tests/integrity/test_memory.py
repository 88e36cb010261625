"""Finding 6: a hostile image cannot take a worker past 1 GB of memory.

A 14,000 x 14,000 PNG (just under the 200 MP cap, a few hundred KB on disk) is refused
by a memory estimate with a specific error; its digests are still taken.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import vigil
from tests.integrity.hostile import huge_png
from vigil.errors import DecompressionBombError

PEAK = """
import resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(out.stderr)
print(out.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_a_huge_png_keeps_every_process_under_1_gb(tmp_path: Path) -> None:
    data = huge_png(14_000)
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "huge.png").write_bytes(data)
    env_home = tmp_path / "home"
    command = [sys.executable, "-c", PEAK, sys.executable, "-m", "vigil", "scan", str(evidence),
               "--case", "c", "-q", "--jobs", "2"]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False,
        env={"VIGIL_HOME": str(env_home), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    code, peak_kib = (int(x) for x in done.stdout.split())
    assert code == 1, done.stderr  # the image is an item not examined
    assert peak_kib < 1_000_000, f"peak RSS {peak_kib / 1e6:.2f} GB"
    out = vigil("results", "c", home=env_home)
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["md5"] == hashlib.md5(data).hexdigest() and row["pdq"] is None
    assert "memory" in row["error"] and "14000x14000" in row["error"]


def test_the_estimate_refuses_before_decoding() -> None:
    from vigil.media.images import decode_image, decode_memory_estimate

    with pytest.raises(DecompressionBombError, match="memory"):
        decode_image(huge_png(9_000), mode="exact")
    assert decode_memory_estimate(9_000, 9_000) > decode_memory_estimate(100, 100)
