"""``vigil audit --verify`` catches a log edited in the database itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli_runner import EXAMPLES, vigil


def test_audit_log_records_actions_and_catches_tampering(tmp_path: Path) -> None:
    home = tmp_path / "home"
    vigil(
        "scan",
        str(EXAMPLES / "evidence" / "holiday"),
        "--case",
        "c",
        "--examiner",
        "ada",
        home=home,
    )
    vigil("export", "c", "--out", str(tmp_path / "c.json"), home=home)
    ok = vigil("audit", "c", "--verify", home=home)
    assert ok.returncode == 0 and "chain intact" in ok.stderr
    actions = [line.split()[3] for line in ok.stdout.splitlines()]
    assert actions == ["scan.start", "scan.finish", "export"]
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    edited = vigil("audit", "c", "--verify", home=home)
    assert edited.returncode == 1 and "entry 2 (position 2): edited" in edited.stderr
    with sqlite3.connect(home / "vigil.sqlite3") as db:
        db.execute("UPDATE audit_log SET actor = 'ada' WHERE seq = 2")
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    removed = vigil("audit", "c", "--verify", home=home)
    assert removed.returncode == 1 and "entries 2..2 are missing (removed)" in removed.stderr
    assert vigil("audit", "nope", home=home).returncode == 2
