"""The one small interface every hash algorithm (signal type) implements.

A signal type has a stored, frozen name, validates and normalises its values,
and compares two values into a distance and a verdict. Computing a signal from
media lives beside it in the same module (see ``pdq.py``, ``crypto.py``, ``vpdq.py``).
"""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from typing import ClassVar

from vigil.errors import InvalidHashError

_HEX = frozenset(string.hexdigits)


class SignalType(ABC):
    """Interface of a hash algorithm as stored in hash sets and compared by matchers."""

    #: Stored name; never changes once released ("md5", "pdq", ...).
    name: ClassVar[str]
    #: Distance at or below which two values are a match, unless configured otherwise.
    default_threshold: ClassVar[int] = 0

    @classmethod
    @abstractmethod
    def validate(cls, value: str) -> str:
        """Return the canonical form of ``value`` or raise InvalidHashError naming the problem."""

    @classmethod
    @abstractmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two canonical values (0 means identical)."""

    @classmethod
    def matches(cls, a: str, b: str, threshold: int | None = None) -> bool:
        """Whether two canonical values match at ``threshold`` (the default if None)."""
        limit = cls.default_threshold if threshold is None else threshold
        return cls.distance(a, b) <= limit


def validate_hex(value: str, *, length: int, what: str) -> str:
    """Lower-case a hex digest after checking its length and characters; never pad or cut."""
    if not isinstance(value, str):
        raise InvalidHashError(f"invalid {what}: expected a string, got {type(value).__name__}")
    text = value.strip()
    if len(text) != length:
        raise InvalidHashError(
            f"invalid {what}: {len(text)} characters, expected {length} hex digits ({text[:80]!r})"
        )
    bad = next((c for c in text if c not in _HEX), None)
    if bad is not None:
        raise InvalidHashError(f"invalid {what}: non-hex character {bad!r} in {text[:80]!r}")
    return text.lower()
