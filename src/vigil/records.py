"""Typed records that several stages share: one scanned item and what it matched.

Field names are stable: they are the columns of the case store and the fields of
``vigil results --format jsonl`` (docs/scan.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ScanItem:
    """One item of a case: a file on disk, an archive member, or a recorded oddity."""

    path: str
    source: str  # the file on disk that holds it (itself, for files on disk)
    container: str | None = None  # innermost archive's path, for archive members
    depth: int = 0
    kind: str = "file"
    size: int | None = None
    mtime: float | None = None
    ctime: float | None = None
    atime: float | None = None
    type: str | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    vpdq: list[dict[str, Any]] | None = None
    link_target: str | None = None
    known: bool = False
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of: str | None = None
    #: Where to read the item again (``vigil.media.sources.base.Locator.to_text``).
    locator: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)
