"""A new hash type is one SignalType and one registry line: a toy CRC-32, in the tests only.

Registered for the test alone (``vigil.signals.registered``), it must travel through
every generic path without a change outside ``signals/``: ``vigil hash --json`` shows
it, a ThreatExchange-lines hash set holding it imports and exports, the store keeps it
as generic rows (``hash_signals``, ``hash_index``), a scan records it on the item and
finds the match, and ``vigil match --hash crc32:...`` finds it.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tests.cli_runner import vigil
from vigil.signals import DIGEST_CODES, registered
from vigil.signals.base import ContentKind, IndexKind, SignalType, validate_hex
from vigil.store import open_store

if TYPE_CHECKING:
    from vigil.signals.content import Content


class Crc32Signal(SignalType):
    """CRC-32 of a file's bytes (8 hex digits): computed by its own read pass."""

    name = "crc32"
    code = 90
    digest_bytes: ClassVar[int | None] = 4
    content_kinds: ClassVar[frozenset[ContentKind]] = frozenset({"bytes"})
    index: ClassVar[IndexKind] = "digest"

    @classmethod
    def compute(cls, content: Content) -> str | None:
        crc = 0
        with content.open() as stream:
            while chunk := stream.read(1 << 16):
                crc = zlib.crc32(chunk, crc)
        return f"{crc:08x}"

    @classmethod
    def validate(cls, value: str) -> str:
        return validate_hex(value, length=8, what="CRC-32")

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return 0 if a == b else 1


def _crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def test_a_toy_signal_type_travels_through_hash_import_scan_and_match(tmp_path: Path) -> None:
    home = tmp_path / "home"
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    known, other = b"known file contents\n", b"some other file\n"
    (evidence / "known.txt").write_bytes(known)
    (evidence / "other.txt").write_bytes(other)
    (evidence / "copy.txt").write_bytes(known)
    listing = tmp_path / "crc.txt"
    listing.write_text(f"crc32 {_crc(known).upper()} a known file\n")

    with registered(Crc32Signal):
        assert DIGEST_CODES["crc32"] == 90

        hashed = vigil("hash", "--json", str(evidence / "known.txt"), home=home)
        assert hashed.returncode == 0, hashed.stderr
        assert json.loads(hashed.stdout)["crc32"] == _crc(known)

        imported = vigil(
            "hashset", "import", str(listing), "--format", "tx", "--name", "TOY", home=home
        )
        assert imported.returncode == 0, imported.stderr + imported.stdout
        shown = vigil("hashset", "show", "TOY", home=home)
        assert "crc32" in shown.stdout, shown.stdout
        exported = vigil("hashset", "export", "TOY", "--format", "tx", home=home)
        assert exported.stdout.strip() == f"crc32 {_crc(known)} a known file"

        scanned = vigil("scan", str(evidence), "--case", "c", "--jobs", "1", home=home)
        assert scanned.returncode == 0, scanned.stderr + scanned.stdout
        with open_store(f"sqlite:///{home / 'vigil.sqlite3'}") as store:
            code = store.db.execute("SELECT DISTINCT hash_type FROM hash_index")
            assert [tuple(r) for r in code] == [(90,)]
            items = {Path(i.path).name: i for i in store.cases.items(store.cases.require("c"))}
        assert items["other.txt"].signals["crc32"] == _crc(other)
        assert not items["other.txt"].matches
        for name in ("known.txt", "copy.txt"):
            assert items[name].signals["crc32"] == _crc(known)
            assert [(m["hashset"], m["signal_type"]) for m in items[name].matches] == [
                ("TOY", "crc32")
            ]

        matched = vigil("match", "--json", "--hash", f"crc32:{_crc(known)}", home=home)
        assert matched.returncode == 0, matched.stderr
        found = json.loads(matched.stdout)["matches"]
        assert [(f["hashset"], f["signal_type"]) for f in found] == [("TOY", "crc32")]
        missed = vigil("match", "--json", "--hash", f"crc32:{_crc(other)}", home=home)
        assert json.loads(missed.stdout)["matches"] == []
