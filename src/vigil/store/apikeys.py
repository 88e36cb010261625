"""API keys of the service: created once, stored hashed, checked in constant time.

A key is ``vgl_`` followed by 32 random bytes (URL-safe base64). Only its SHA-256 is
stored: a leaked database does not leak usable keys, and because the token is 256
random bits a plain hash suffices (no slow KDF is needed against guessing). The
first characters (``prefix``) are kept to tell keys apart in listings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.errors import UsageError
from vigil.store.database import Database

#: Roles, weakest first; each may do everything the ones before it may.
ROLES: tuple[str, ...] = ("matcher", "curator", "admin")
KEY_PREFIX = "vgl_"


@dataclass(frozen=True)
class ApiKey:
    """One key's record (never the key itself)."""

    name: str
    role: str
    prefix: str
    created_at: str
    revoked_at: str | None
    rate_per_second: float | None

    def allows(self, role: str) -> bool:
        """Whether this key's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (no secret in it)."""
        return {
            "name": self.name,
            "role": self.role,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "rate_per_second": self.rate_per_second,
        }


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


_COLUMNS = "name, role, prefix, created_at, revoked_at, rate_per_second, key_hash"


class ApiKeyRepository:
    """API keys in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db

    def create(self, name: str, role: str, rate_per_second: float | None = None) -> str:
        """Create a key; return it (the only time it is ever seen)."""
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        if not name or len(name) > 100:
            raise UsageError("a key needs a name of 1 to 100 characters")
        if rate_per_second is not None and rate_per_second <= 0:
            raise UsageError("the rate limit must be positive")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        created = self.db.execute(
            "INSERT INTO api_keys (name, role, key_hash, prefix, created_at, rate_per_second) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, role, hash_key(key), key[:10], _now(), rate_per_second),
        )
        if not created:
            raise UsageError(f"an API key named {name!r} exists (revoke it first)")
        return key

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones too, by name."""
        return [_key(r) for r in self.db.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY name")]

    def revoke(self, name: str) -> bool:
        """Revoke the key called ``name`` (its row stays, renamed, for the record)."""
        stamp = _now()
        revoked = self.db.execute(
            "UPDATE api_keys SET revoked_at = ?, name = ? WHERE name = ? AND revoked_at IS NULL "
            "RETURNING id",
            (stamp, f"{name} (revoked {stamp})", name),
        )
        return bool(revoked)

    def check(self, key: str) -> ApiKey | None:
        """The live key record for a presented key, or None."""
        digest = hash_key(key)
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if not rows or not hmac.compare_digest(rows[0][6], digest):
            return None
        return _key(rows[0])

    def live_hashes(self) -> dict[str, ApiKey]:
        """Every live key by its hash: the service caches this and refreshes it often."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE revoked_at IS NULL")
        return {r[6]: _key(r) for r in rows}


def _key(row: tuple[Any, ...]) -> ApiKey:
    name, role, prefix, created, revoked, rate, _ = row
    return ApiKey(name, role, prefix, created, revoked, float(rate) if rate is not None else None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
