"""Typed records that several stages share: a hashed file, a scanned item, and their signals.

Records carry their signals (hashes) as a mapping, ``signals``, keyed by the signal
type's stored name (``vigil.signals``): a new hash type travels through hashing,
the case store and the matcher without a new field anywhere. The five types that
the field shares today (MD5, SHA-1, SHA-256, PDQ, vPDQ) are also readable and
writable as attributes (``record.md5``), a convenience that reads and writes the
same mapping, so ``record.md5 = x`` and ``record.signals["md5"] = x`` are one thing.

Field names are stable: they are the fields of ``vigil hash --json``
(docs/hash-output.md) and ``vigil results --format jsonl`` (docs/scan.md), where
signals appear flattened beside the other fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

#: The well-known signal types, in the order records show them.
WELL_KNOWN = ("md5", "sha1", "sha256", "pdq", "vpdq")


class SignalField:
    """An attribute that reads and writes one entry of its record's ``signals``."""

    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj.signals.get(self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None:
            obj.signals.pop(self.name, None)
        else:
            obj.signals[self.name] = value


T = TypeVar("T")


def signal_kwargs(cls: type[T]) -> type[T]:
    """Let a record's constructor take well-known signals as keywords (``md5=...``).

    They land in ``signals``; any other type is given in ``signals`` itself.
    """
    names = frozenset(n for n in dir(cls) if isinstance(vars_get(cls, n), SignalField))
    original: Callable[..., None] = cls.__init__  # type: ignore[misc]

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        hashes = {n: kwargs.pop(n) for n in names & kwargs.keys()}
        original(self, *args, **kwargs)
        for name, value in hashes.items():
            if value is not None:
                self.signals[name] = value

    cls.__init__ = init  # type: ignore[misc]
    return cls


def vars_get(cls: type, name: str) -> Any:
    """A class attribute as defined (the descriptor itself, not what it returns)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


class WellKnownSignals:
    """The attribute view of the well-known signals (see the module docstring)."""

    signals: dict[str, Any]
    md5 = SignalField()
    sha1 = SignalField()
    sha256 = SignalField()
    pdq = SignalField()
    vpdq = SignalField()

    def signals_json(self) -> dict[str, Any]:
        """The signals flattened for output: well-known ones always present (null if absent)."""
        out: dict[str, Any] = {name: self.signals.get(name) for name in WELL_KNOWN}
        out.update((k, v) for k, v in self.signals.items() if k not in out)
        return out


def _fields_json(record: Any, skip: frozenset[str] = frozenset({"signals"})) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(record):
        if f.name in skip:
            continue
        value = getattr(record, f.name)
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@signal_kwargs
@dataclass
class FileHashes(WellKnownSignals):
    """The record of one hashed file or piece of content (docs/hash-output.md)."""

    path: str
    type: str | None = None
    size: int | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    pdq_quality: int | None = None
    pdq_dihedral: dict[str, str] | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    exif_orientation: int | None = None
    pdq_scale: int | None = None
    known: bool = False
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with every field present (null when not applicable)."""
        base = _fields_json(self)
        head = {k: base.pop(k) for k in ("path", "type", "size")}
        return {**head, **self.signals_json(), **base}


@signal_kwargs
@dataclass
class ScanItem(WellKnownSignals):
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
    signals: dict[str, Any] = field(default_factory=dict)
    pdq_quality: int | None = None
    link_target: str | None = None
    known: bool = False
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    duplicate_of: str | None = None
    #: Where to read the item again (``vigil.media.sources.base.Locator.to_text``).
    locator: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, signals flattened beside them."""
        base = _fields_json(self)
        before = {k: base.pop(k) for k in list(base) if k != "pdq_quality"}
        ordered: dict[str, Any] = {}
        for key, value in before.items():
            ordered[key] = value
            if key == "type":
                ordered.update(self.signals_json())
                ordered["pdq_quality"] = base.pop("pdq_quality")
        return ordered
