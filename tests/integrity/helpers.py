"""Shared steps of the integrity tests: a case home with a hash set of one picture."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.cli_runner import vigil
from tests.factory import image_bytes, picture


def known_picture(seed: int = 1) -> bytes:
    """A generated JPEG whose MD5 the test hash set holds."""
    return image_bytes("JPEG", picture(seed=seed))


def home_with_set(tmp_path: Path, *pictures: bytes) -> Path:
    """A VIGIL_HOME whose hash set ``KNOWN`` (alert) lists the pictures' MD5s."""
    home = tmp_path / "home"
    tmp_path.mkdir(parents=True, exist_ok=True)
    listing = tmp_path / "known.md5"
    listing.write_text("".join(f"{hashlib.md5(p).hexdigest()}  x.jpg\n" for p in pictures))
    out = vigil("hashset", "import", str(listing), "--name", "KNOWN", home=home)
    assert out.returncode == 0, out.stderr
    return home


def results(case: str, home: Path) -> list[dict]:
    """The case's rows as ``vigil results`` gives them."""
    out = vigil("results", case, home=home)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]
