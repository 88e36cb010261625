"""The one small interface every hash algorithm (signal type) implements.

A signal type has a stored, frozen name (and a frozen small ``code`` for the store's
digest index), names the kinds of content it applies to (any bytes, images, videos)
and the index that finds its values, computes itself from an item's ``Content``,
validates and normalises its values, and compares two values into a distance and a
verdict. Everything about one hash algorithm lives in one module beside this one
(``crypto.py``, ``pdq.py``, ``vpdq.py``), registered by one line in ``__init__.py``.
"""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from vigil.errors import InvalidHashError

if TYPE_CHECKING:
    from vigil.signals.content import Content

#: What a signal type is computed from: any content's bytes, a decoded image, a video.
ContentKind = Literal["bytes", "image", "video"]
#: How stored values are found: ``digest`` is the store's B-tree on (code, digest)
#: (exact equality); ``pdq`` and ``vpdq`` are the near-match indexes of ``vigil.index``.
IndexKind = Literal["digest", "pdq", "vpdq"]

_HEX = frozenset(string.hexdigits)


class SignalType(ABC):
    """Interface of a hash algorithm as stored in hash sets and compared by matchers."""

    #: Stored name; never changes once released ("md5", "pdq", ...).
    name: ClassVar[str]
    #: Stored small number, unique among signal types; never changes once released.
    code: ClassVar[int]
    #: The content this signal is computed from (an image's PDQ is not a video's).
    content_kinds: ClassVar[frozenset[ContentKind]] = frozenset({"bytes"})
    #: The index that finds stored values of this type.
    index: ClassVar[IndexKind] = "digest"
    #: Distance at or below which two values are a match, unless configured otherwise.
    default_threshold: ClassVar[int] = 0
    #: Bytes of a value stored as a raw digest (hex in records), None for other values.
    digest_bytes: ClassVar[int | None] = None

    @classmethod
    def compute(cls, content: Content) -> Any | None:
        """Compute the signal of one item (None when it does not apply), or raise MediaError.

        A signal type may also set descriptive fields of ``content.record`` (a PDQ's
        quality, an image's size). The default computes nothing: a type that only
        exists in shared lists (PhotoDNA, say) is still validated and matched.
        """
        return None

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
