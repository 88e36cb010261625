"""Stage 2: hash algorithms (signal types), and hashing one item into a record.

The registry below is explicit: one line per signal type, no registration by import
side effect, and lazy: a line names the class's module, imported the first time the
type is used, so that ``vigil --help`` or an MD5 lookup never loads a video decoder.
Names are stored in hash sets and cases and never change; neither do codes.

Adding a hash type (a future video or audio hash) is one module here, a subclass of
``base.SignalType`` that says what content it applies to, how it computes itself and
which index finds it, and one line in ``_BUILT_IN``. ``register`` adds one at run time
(tests register a toy type that way; a plug-in could).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from vigil.errors import UsageError
from vigil.signals.base import SignalType

#: name -> "module:Class", in the order records list signals.
_BUILT_IN: dict[str, str] = {
    "md5": "vigil.signals.crypto:Md5Signal",
    "sha1": "vigil.signals.crypto:Sha1Signal",
    "sha256": "vigil.signals.crypto:Sha256Signal",
    "pdq": "vigil.signals.pdq:PdqSignal",
    "vpdq": "vigil.signals.vpdq:VpdqSignal",
}


class _Registry(Mapping[str, type[SignalType]]):
    """Signal types by stored name; a type's module is imported on first access."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = dict(paths)
        self._loaded: dict[str, type[SignalType]] = {}

    def __getitem__(self, name: str) -> type[SignalType]:
        cls = self._loaded.get(name)
        if cls is None:
            module, _, attr = self._paths[name].partition(":")  # KeyError: unknown name
            cls = self._loaded[name] = getattr(importlib.import_module(module), attr)
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def add(self, cls: type[SignalType]) -> None:
        """Register ``cls``; its name and code must be new."""
        if cls.name in self._paths:
            raise UsageError(f"a signal type named {cls.name!r} is registered already")
        if any(self[n].code == cls.code for n in self._paths):
            raise UsageError(f"signal type code {cls.code} is taken")
        self._paths[cls.name] = f"{cls.__module__}:{cls.__qualname__}"
        self._loaded[cls.name] = cls

    def remove(self, name: str) -> None:
        """Forget a type registered at run time."""
        self._paths.pop(name, None)
        self._loaded.pop(name, None)


SIGNAL_TYPES = _Registry(_BUILT_IN)


def signal_type(name: str) -> type[SignalType]:
    """The signal type stored under ``name``, or a UsageError listing the known ones."""
    key = name.lower() if isinstance(name, str) else name
    if key not in SIGNAL_TYPES:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise UsageError(f"unknown signal type {name!r} (known: {known})")
    return SIGNAL_TYPES[key]


def signal_types() -> list[type[SignalType]]:
    """Every registered signal type, in registry order."""
    return list(SIGNAL_TYPES.values())


def signal_names() -> tuple[str, ...]:
    """The registered names, without importing any signal module."""
    return tuple(SIGNAL_TYPES)


def of_index(index: str) -> list[type[SignalType]]:
    """The signal types found by one kind of index (``digest``, ``pdq``, ``vpdq``)."""
    return [t for t in signal_types() if t.index == index]


def by_code(code: int) -> type[SignalType]:
    """The signal type stored under a digest-index code."""
    for cls in signal_types():
        if cls.code == code:
            return cls
    raise UsageError(f"unknown signal type code {code}")


class _Column(Mapping[str, int]):
    """A read-only view name -> one class attribute, over the types stored as digests."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def _current(self) -> dict[str, int]:
        return {
            name: getattr(cls, self._attribute)
            for name, cls in SIGNAL_TYPES.items()
            if cls.digest_bytes is not None
        }

    def __getitem__(self, name: str) -> int:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


#: Raw digest sizes in bytes of the types stored as digests (md5 16, ..., pdq 32).
DIGEST_SIZES: Mapping[str, int] = _Column("digest_bytes")
#: The store's digest-index code of every type stored as a digest.
DIGEST_CODES: Mapping[str, int] = _Column("code")


def register(cls: type[SignalType]) -> None:
    """Add a signal type at run time (its name and code must be new)."""
    SIGNAL_TYPES.add(cls)


@contextmanager
def registered(cls: type[SignalType]) -> Iterator[type[SignalType]]:
    """A signal type registered for the duration of a ``with`` block (tests)."""
    register(cls)
    try:
        yield cls
    finally:
        SIGNAL_TYPES.remove(cls.name)
