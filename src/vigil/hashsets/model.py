"""The records of a hash set: the set itself, its entries, and rejected records.

An entry is one media item as a list describes it: one or more of its hashes, its
category under the set's category profile, and what the formats carry about it.
Nested VICS data that Vigil does not interpret (``MediaFiles``, ``Exifs``, further
``AlternativeHashes`` and unknown fields) is kept verbatim in ``extra`` so that an
import followed by an export gives the examiner back what the list said.

Hashes are canonical lower-case hex strings here; the store keeps them as raw digest
bytes. PhotoDNA is opaque text: Vigil neither computes nor compares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from vigil.errors import InvalidHashError
from vigil.records import WellKnownSignals, signal_kwargs
from vigil.signals import DIGEST_SIZES, SIGNAL_TYPES, signal_names, signal_type

__all__ = ["DIGEST_SIZES", "HASH_TYPES", "DigestBlock", "Entry", "HashSetInfo", "HashSetKind"]

#: The signal types an entry can hold: the registry's (``vigil.signals``), by name.
HASH_TYPES: tuple[str, ...] = signal_names()


class HashSetKind(StrEnum):
    """What a match against the set means."""

    alert = "alert"  # known abuse material: a match is a finding
    ignore = "ignore"  # known files to skip (NSRL): a match means "known", not "good"
    watch = "watch"  # material of interest that is not (yet) an alert


@signal_kwargs
@dataclass
class Entry(WellKnownSignals):
    """One media item of a hash set (see the module docstring).

    Its hashes are ``signals`` by signal type (``Entry(md5=...)`` for well-known
    types, ``Entry(signals={...})`` for any); vPDQ is the reference's lines as text.
    """

    signals: dict[str, str] = field(default_factory=dict)
    photodna: str | None = None
    category: str | None = None
    series: str | None = None
    tags: tuple[str, ...] = ()
    victim_identified: bool | None = None
    is_distributed: bool | None = None
    media_size: int | None = None
    file_names: tuple[str, ...] = ()
    comments: str | None = None
    date_updated: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def hashes(self) -> dict[str, str]:
        """The entry's hashes by type, only those present."""
        return {t: v for t, v in self.signals.items() if v is not None}

    def metadata(self) -> dict[str, Any]:
        """The non-hash, non-category fields that are set, as a JSON-ready dict."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _NOT_METADATA:
                continue
            value = getattr(self, f.name)
            if value is None or value == () or value == {}:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], **hashes: Any) -> Entry:
        """Rebuild an entry from ``metadata()`` output and its hashes and category."""
        kwargs = dict(meta)
        for name in ("tags", "file_names"):
            if name in kwargs:
                kwargs[name] = tuple(kwargs[name])
        names = set(signal_names())
        kwargs.update((k, v) for k, v in hashes.items() if k not in names)
        signals = {t: v for t, v in hashes.items() if t in names and v is not None}
        return cls(signals=signals, **kwargs)


_NOT_METADATA = frozenset({"signals", "category"})


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that could not be read: where it is (``file:line`` or JSON path) and why."""

    location: str
    reason: str
    #: True when reading cannot go on after this record (JSON syntax error, bad header).
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DigestBlock:
    """A run of consecutive entries that each hold the same digest types and nothing else.

    Plain lists yield these instead of one ``Entry`` per line, so that ten million
    lines do not become ten million Python objects on their way to the database.
    ``values`` are canonical hex strings of ``hash_type``, already validated; ``others``
    holds further digest types of the same entries, one value per entry each (an NSRL
    RDS 2.x file row: SHA-1 and MD5). Optional per-entry lists, one item per entry:
    ``file_names`` ("" for none, as ``md5sum`` lines carry them), ``sizes`` (None for
    none, hashdeep's size column) and ``extras`` (``Entry.extra`` dicts, None for none).
    Records richer than that (VICS: categories, flags, sizes, files) come as
    ``categories`` and ``metas`` (each entry's ``Entry.metadata()``, None for none)
    instead of the three lists above. Every type must be a digest type of the registry.
    """

    hash_type: str
    values: list[str]
    others: dict[str, list[str]] = field(default_factory=dict)
    file_names: list[str] | None = None
    sizes: list[int | None] | None = None
    extras: list[dict[str, Any] | None] | None = None
    categories: list[str | None] | None = None
    metas: list[dict[str, Any] | None] | None = None
    #: The digests of some columns as the reader already decoded them (one blob per
    #: type, in order): the store uses them instead of decoding the hex again.
    raw: dict[str, bytes] | None = None

    def entries(self) -> Iterator[Entry]:
        """The block as ordinary entries (for code that wants records, not speed)."""
        for i, value in enumerate(self.values):
            signals = {self.hash_type: value}
            for name, values in self.others.items():
                signals[name] = values[i]
            if self.metas is not None or self.categories is not None:
                meta = self.metas[i] if self.metas is not None else None
                category = self.categories[i] if self.categories is not None else None
                yield Entry.from_metadata(dict(meta or {}), category=category, **signals)
                continue
            name = self.file_names[i] if self.file_names is not None else ""
            yield Entry(
                signals=signals,
                file_names=(name,) if name else (),
                media_size=self.sizes[i] if self.sizes is not None else None,
                extra=dict(self.extras[i] or {}) if self.extras is not None else {},
            )


def expand(items: Iterable[Entry | DigestBlock | Rejected]) -> Iterator[Entry | Rejected]:
    """A reader's output with every ``DigestBlock`` spelled out as entries."""
    for item in items:
        if isinstance(item, DigestBlock):
            yield from item.entries()
        else:
            yield item


@dataclass(slots=True)
class HashSetInfo:
    """A hash set as stored: name, kind, provenance, version, profile, counts."""

    name: str
    kind: HashSetKind = HashSetKind.alert
    category_profile: str | None = None
    provenance: str | None = None
    version: str | None = None
    source_format: str | None = None
    source_sha256: str | None = None
    imported_at: datetime | None = None
    entry_count: int = 0
    id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImportReport:
    """What an import did: the set, how many entries, what was skipped and why."""

    info: HashSetInfo
    imported: int = 0
    skipped: list[Rejected] = field(default_factory=list)
    unchanged: bool = False
    seconds: float = 0.0
    #: replace, merge or remove; and what it did: {"added", "updated", "removed"} counts.
    mode: str = "replace"
    changes: dict[str, int] = field(default_factory=dict)


def canonical_hash(hash_type: str, value: str) -> str:
    """Validate one hash and give its canonical lower-case form; never pad or truncate.

    The common case (a well-formed hex digest) is checked with ``bytes.fromhex`` in C,
    which matters at millions of lines; anything else goes to the signal type's own
    validator, so that error messages are the same everywhere in Vigil.
    """
    # The type itself, not the DIGEST_SIZES view: that view is rebuilt on each access
    # (types can be registered at run time), which cost a VICS import a quarter of its time.
    cls = SIGNAL_TYPES.get(hash_type)
    size = cls.digest_bytes if cls is not None else None
    if size is not None and type(value) is str and len(value) == 2 * size:
        try:
            if len(bytes.fromhex(value)) == size:
                return value.lower()
        except ValueError:
            pass
    if hash_type == "photodna":
        if not isinstance(value, str) or not value.strip():
            raise InvalidHashError("invalid PhotoDNA hash: empty")
        return value.strip()
    return signal_type(hash_type).validate(value)
