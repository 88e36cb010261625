"""Turn what a user types into lookup queries: ``HEX`` or ``TYPE:HEX``.

A bare digest's type follows from its length (32 MD5, 40 SHA-1); 64 digits may be a
SHA-256 or a PDQ hash, so both are looked up unless a ``sha256:`` or ``pdq:`` prefix
says which. Lookups are exact; near-PDQ matching is the index's job.
"""

from __future__ import annotations

from vigil.errors import InvalidHashError
from vigil.hashsets.model import DIGEST_SIZES, canonical_hash

_BY_LENGTH = {32: ("md5",), 40: ("sha1",), 64: ("sha256", "pdq")}


def parse_query(text: str) -> list[tuple[str, str]]:
    """``(hash_type, canonical hex)`` pairs for one typed hash; InvalidHashError if none."""
    value = text.strip()
    if ":" in value:
        hash_type, _, digest = value.partition(":")
        hash_type = hash_type.strip().lower()
        if hash_type not in DIGEST_SIZES:
            known = ", ".join(DIGEST_SIZES)
            raise InvalidHashError(f"{text!r}: unknown hash type {hash_type!r} (known: {known})")
        return [(hash_type, canonical_hash(hash_type, digest))]
    types = _BY_LENGTH.get(len(value))
    if types is None:
        raise InvalidHashError(
            f"{text!r}: {len(value)} characters; expected 32 (MD5), 40 (SHA-1) or 64 "
            "(SHA-256 or PDQ) hex digits"
        )
    return [(t, canonical_hash(t, value)) for t in types]
