"""Examiners' accounts and sessions for the review app.

Passwords are hashed with Argon2id (RFC 9106) through ``cryptography``'s
implementation, already one of Vigil's dependencies, written as the PHC string that
argon2-cffi and libargon2 also read and write (``$argon2id$v=19$m=...,t=...,p=...$``),
with the RFC's second recommended parameter set (64 MiB, 3 passes). A session is a
random 256-bit token held only in an HttpOnly, SameSite=Strict cookie; the store
keeps its SHA-256 and a CSRF token that every change must carry back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from vigil.errors import UsageError
from vigil.store import Store
from vigil.store.users import ROLES, Session, User, UserRepository

#: Argon2id parameters (RFC 9106, section 4, second recommendation).
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_ITERATIONS = 3
ARGON2_LANES = 4
#: How long a session lasts without logging in again.
SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 10

#: Wellness settings and their defaults: blur level 1-5, greyscale, a break reminder
#: after so many minutes of review or so many reveals (0: never).
DEFAULT_SETTINGS: dict[str, Any] = {
    "blur": 3,
    "grey": True,
    "break_minutes": 45,
    "break_reveals": 20,
}


def hash_password(password: str) -> str:
    """The Argon2id PHC string of ``password`` (a fresh salt each time)."""
    kdf = Argon2id(
        salt=os.urandom(16),
        length=32,
        iterations=ARGON2_ITERATIONS,
        lanes=ARGON2_LANES,
        memory_cost=ARGON2_MEMORY_KIB,
    )
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one hashed in ``encoded`` (constant time in the KDF)."""
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def token_hash(token: str) -> str:
    """The stored form of a session or reveal token."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def settings_of(user: User) -> dict[str, Any]:
    """The examiner's wellness settings, defaults filled in."""
    return {**DEFAULT_SETTINGS, **{k: v for k, v in user.settings.items() if k in DEFAULT_SETTINGS}}


def checked_settings(raw: dict[str, Any]) -> dict[str, Any]:
    """Wellness settings from a form, validated; UsageError names the bad one."""
    try:
        blur = int(raw.get("blur", DEFAULT_SETTINGS["blur"]))
        minutes = int(raw.get("break_minutes", DEFAULT_SETTINGS["break_minutes"]))
        reveals = int(raw.get("break_reveals", DEFAULT_SETTINGS["break_reveals"]))
    except (TypeError, ValueError):
        raise UsageError("blur, break minutes and break reveals are whole numbers") from None
    if not 1 <= blur <= 5:
        raise UsageError("blur is a level from 1 (light) to 5 (strongest)")
    if not 0 <= minutes <= 480 or not 0 <= reveals <= 1000:
        raise UsageError("break after 0-480 minutes and 0-1000 reveals (0: no reminder)")
    grey = raw.get("grey") in (True, "1", "on", "true", "yes")
    return {"blur": blur, "grey": grey, "break_minutes": minutes, "break_reveals": reveals}


class Accounts:
    """Examiners and sessions of one store."""

    def __init__(self, store: Store) -> None:
        """Work on ``store`` (open, migrated)."""
        self.repo = UserRepository(store.db)

    def add(self, name: str, role: str, password: str) -> User:
        """A new examiner; UsageError for a short password, an unknown role or a taken name."""
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        if len(password) < MIN_PASSWORD:
            raise UsageError(f"a password has at least {MIN_PASSWORD} characters")
        return self.repo.add(name, role, hash_password(password))

    def list(self) -> list[User]:
        """Every examiner."""
        return self.repo.list()

    def login(self, name: str, password: str) -> tuple[str, Session] | None:
        """A new session token and session for valid credentials; None otherwise.

        An unknown name costs the same Argon2 work as a wrong password, so timing does
        not tell which names exist.
        """
        found = self.repo.credentials(name)
        if found is None:
            verify_password(password, _DUMMY)
            return None
        user, encoded = found
        if not verify_password(password, encoded):
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = time.time() + SESSION_SECONDS
        self.repo.purge_sessions(time.time())
        self.repo.open_session(user, token_hash(token), csrf, expires)
        return token, Session(user, csrf, expires)

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie's token, if any."""
        if not token or len(token) > 200:
            return None
        return self.repo.session(token_hash(token), time.time())

    def logout(self, token: str) -> None:
        """End the session of ``token``."""
        self.repo.close_session(token_hash(token))

    def save_settings(self, user: User, raw: dict[str, Any]) -> User:
        """Validate and keep an examiner's wellness settings; the updated user."""
        return self.repo.save_settings(user, checked_settings(raw))


def csrf_ok(session: Session, presented: str | None) -> bool:
    """Whether a request carries the session's CSRF token."""
    return bool(presented) and hmac.compare_digest(session.csrf, str(presented))


#: A hash of no one's password, verified against when a name is unknown.
_DUMMY = (
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)


__all__ = [
    "DEFAULT_SETTINGS",
    "ROLES",
    "Accounts",
    "Session",
    "User",
    "checked_settings",
    "csrf_ok",
    "hash_password",
    "settings_of",
    "verify_password",
]
