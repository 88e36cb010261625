"""One exception hierarchy for Vigil.

The CLI maps these to exit codes and messages, the HTTP API (later) to status codes.
Per-file problems during hashing or scanning are *recorded* as the ``error`` field of
a result row, using the message of one of these exceptions; they never end a run.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error that Vigil raises on purpose."""


class UsageError(VigilError):
    """The caller asked for something that cannot be done (bad option, bad value)."""


class InvalidHashError(VigilError, ValueError):
    """A hash string is not a valid value of its signal type (length, characters)."""


class MediaError(VigilError):
    """A file could not be read or decoded as the media its content claims to be."""


class UnsupportedMediaError(MediaError):
    """The file's content is of a type that Vigil does not decode."""


class DecompressionBombError(MediaError):
    """A file would decode to more pixels (or frames) than the configured limit."""


class CorruptMediaError(MediaError):
    """A file of a known type is truncated or corrupt and cannot be decoded."""


class NoFramesError(MediaError):
    """A video container holds no decodable video frame."""


class HashSetError(VigilError):
    """A hash-set file or operation failed (bad file, unknown set, conflicting import)."""


class InvalidRecordError(HashSetError):
    """A record of a hash-set file is invalid; the message names file, line or JSON path, reason."""


class UnknownHashSetError(HashSetError):
    """No hash set of that name exists in the store."""


class StoreError(VigilError):
    """The database cannot be opened, migrated or written."""


class StoreConflictError(StoreError):
    """A write collided with another writer (a unique key taken, the database locked).

    Retrying later, or re-reading what the other writer did, usually succeeds: callers
    that can tell the user something better (a name is taken) catch this one.
    """


def describe(exc: BaseException, limit: int = 300) -> str:
    """A third-party exception's message, or its type's name, cut to ``limit`` characters.

    Decoders and archive libraries raise anything on hostile input, sometimes with huge
    or empty messages; recorded errors stay readable.
    """
    text = str(exc) or type(exc).__name__
    return text if len(text) < limit else text[: limit - 3] + "..."
