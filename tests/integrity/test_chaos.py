"""The chaos test: 20 SIGKILLs at random moments across a scan and its resumes.

The case ends with the same rows as a clean run, no worker is left behind after any
kill, and the sealed digest verifies (``vigil audit --verify``). Small evidence, so
that the whole takes well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from tests.cli_runner import vigil
from tests.factory import image_bytes, picture
from tests.integrity.helpers import home_with_set
from tests.integrity.hostile import nested_zip
from tests.integrity.procs import descendants, kill_all, wait_gone

VIGIL = Path(sys.executable).parent / "vigil"
KILLS = 20


def _evidence(root: Path) -> list[bytes]:
    known = [image_bytes("JPEG", picture(seed=s)) for s in (1, 2, 3)]
    for folder in range(4):
        (root / f"d{folder}").mkdir(parents=True)
        for i in range(8):
            data = image_bytes("PNG", picture(200, 150, seed=100 + folder * 10 + i))
            (root / f"d{folder}" / f"p{i}.png").write_bytes(data)
    for i, data in enumerate(known):
        (root / f"d{i}" / f"known{i}.jpg").write_bytes(data)
    (root / "deep.zip").write_bytes(nested_zip(known[0], "inner.jpg", 6))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(10):
            archive.writestr(f"a/{i}.png", image_bytes("PNG", picture(seed=300 + i)))
        archive.writestr("a/known.jpg", known[1])
    (root / "many.zip").write_bytes(buffer.getvalue())
    for i in range(2):  # work for the workers: 128 MB of zeros each to hash
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for j in range(4):
                archive.writestr(f"zeros{j}.bin", bytes(32 << 20))
        (root / f"d{i}" / f"zeros{i}.zip").write_bytes(buffer.getvalue())
    return known


def _rows(home: Path, case: str) -> list[dict]:
    out = vigil("results", case, home=home)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_twenty_sigkills_then_a_resume_equal_a_clean_run(tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    known = _evidence(evidence)
    clean_home = home_with_set(tmp_path / "clean", *known)
    assert vigil("scan", str(evidence), "--case", "c", "-j", "2", home=clean_home).returncode == 0
    clean = _rows(clean_home, "c")
    assert sum(bool(r["matches"]) for r in clean) == 5

    home = home_with_set(tmp_path / "chaos", *known)
    assert vigil("keys", "generate", home=home).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env["VIGIL_HOME"] = str(home)
    command = [str(VIGIL), "scan", str(evidence), "--case", "c", "-j", "2", "-q"]
    rng = random.Random(11)
    seen: set[int] = set()
    try:
        for _ in range(KILLS):
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)  # fmt: skip
            # A quarter of the kills land anywhere in start-up; the others once the workers
            # run, at a random moment of the hashing and the writing of the case.
            deadline = time.monotonic() + rng.uniform(0.05, 1.5) if rng.random() < 0.25 else None
            after_start = rng.uniform(0.0, 0.6)
            children: set[int] = set()
            while proc.poll() is None:
                workers = descendants(proc.pid)
                children |= workers
                if deadline is None and workers:
                    deadline = time.monotonic() + after_start
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(0.02)
            children |= descendants(proc.pid)
            seen |= children
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            assert wait_gone(children) == set(), "a worker outlived its killed scan"
        final = vigil("scan", str(evidence), "--case", "c", "-j", "2", home=home)
        assert final.returncode == 0, final.stdout + final.stderr
    finally:
        kill_all(seen)
    assert _rows(home, "c") == clean
    verified = vigil("audit", "c", "--verify", home=home)
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stderr
    actions = [line.split()[3] for line in verified.stdout.splitlines()]
    assert actions.count("scan.resume") >= 3  # kills landed while the case was being written
    assert actions.count("scan.finish") < KILLS + 1  # and before some of the scans finished
    print(f"audit actions: {sorted(Counter(actions).items())}")
