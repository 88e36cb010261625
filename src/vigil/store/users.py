"""Examiners of the review app and their sessions.

Users (``review_users``) have a name, a role (``reviewer`` or ``lead``), a password
hash (an Argon2id PHC string made in ``vigil.review.accounts``; the store never sees
a password) and their wellness settings as JSON (blur, greyscale, breaks: each
examiner chooses their own). Sessions (``review_sessions``) are keyed by the SHA-256
of a random token that only the browser's cookie holds, so a copy of the database
opens no session; each carries its own CSRF token and an expiry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.errors import UsageError
from vigil.store.database import Database

#: Roles of the review app, weakest first: a lead may do all a reviewer may.
ROLES: tuple[str, ...] = ("reviewer", "lead")

SQLITE = """
CREATE TABLE review_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'lead')),
    password_hash TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE review_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

POSTGRES = (
    SQLITE.replace("id INTEGER PRIMARY KEY AUTOINCREMENT", "id BIGSERIAL PRIMARY KEY")
    .replace("user_id INTEGER", "user_id BIGINT")
    .replace("REAL", "DOUBLE PRECISION")
)


class UnknownUserError(UsageError):
    """No examiner of that name."""


@dataclass(frozen=True)
class User:
    """One examiner (never their password hash, which stays in the repository)."""

    id: int
    name: str
    role: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_lead(self) -> bool:
        """Whether this examiner resolves disagreements."""
        return self.role == "lead"


@dataclass(frozen=True)
class Session:
    """An open session: whose, its CSRF token, until when (seconds since the epoch)."""

    user: User
    csrf: str
    expires_at: float


def _now() -> str:
    return datetime.now(UTC).isoformat()


class UserRepository:
    """Examiners and sessions in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (already migrated)."""
        self.db = db

    def add(self, name: str, role: str, password_hash: str) -> User:
        """A new examiner; UsageError for an unknown role or a name taken."""
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        if not name or len(name) > 100 or not name.isprintable():
            raise UsageError("a user name is 1 to 100 printable characters")
        rows = self.db.execute(
            "INSERT INTO review_users (name, role, password_hash, settings, created_at) "
            "VALUES (?, ?, ?, '{}', ?) ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, role, password_hash, _now()),
        )
        if not rows:
            raise UsageError(f"a user named {name!r} exists already")
        return User(int(rows[0][0]), name, role, {})

    def set_password(self, name: str, password_hash: str) -> None:
        """Replace an examiner's password hash (and close their sessions)."""
        user = self.require(name)
        with self.db.transaction():
            self.db.execute(
                "UPDATE review_users SET password_hash = ? WHERE id = ?", (password_hash, user.id)
            )
            self.db.execute("DELETE FROM review_sessions WHERE user_id = ?", (user.id,))

    def credentials(self, name: str) -> tuple[User, str] | None:
        """The examiner called ``name`` and their password hash, if they exist and are enabled."""
        rows = self.db.execute(
            "SELECT id, name, role, settings, password_hash FROM review_users "
            "WHERE name = ? AND disabled_at IS NULL",
            (name,),
        )
        if not rows:
            return None
        uid, uname, role, settings, digest = rows[0]
        return User(int(uid), uname, role, json.loads(settings or "{}")), str(digest)

    def get(self, name: str) -> User | None:
        """The examiner called ``name``, if any."""
        found = self.credentials(name)
        return found[0] if found else None

    def require(self, name: str) -> User:
        """The examiner called ``name``, or UnknownUserError."""
        user = self.get(name)
        if user is None:
            raise UnknownUserError(f"no user named {name!r} (vigil user add {name})")
        return user

    def list(self) -> list[User]:
        """Every enabled examiner, by name."""
        return [
            User(int(uid), name, role, json.loads(settings or "{}"))
            for uid, name, role, settings in self.db.execute(
                "SELECT id, name, role, settings FROM review_users WHERE disabled_at IS NULL "
                "ORDER BY name"
            )
        ]

    def save_settings(self, user: User, settings: dict[str, Any]) -> User:
        """Replace an examiner's wellness settings; the updated user."""
        self.db.execute(
            "UPDATE review_users SET settings = ? WHERE id = ?",
            (json.dumps(settings, sort_keys=True), user.id),
        )
        return User(user.id, user.name, user.role, dict(settings))

    # -- sessions --------------------------------------------------------------------------

    def open_session(self, user: User, token_hash: str, csrf: str, expires_at: float) -> None:
        """Record a new session (the token itself is never stored)."""
        self.db.execute(
            "INSERT INTO review_sessions (token_hash, user_id, csrf, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_hash, user.id, csrf, _now(), expires_at),
        )

    def session(self, token_hash: str, now: float) -> Session | None:
        """The live session of that token hash, with its examiner; None if none or expired."""
        rows = self.db.execute(
            "SELECT u.id, u.name, u.role, u.settings, s.csrf, s.expires_at "
            "FROM review_sessions s JOIN review_users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
            (token_hash, now),
        )
        if not rows:
            return None
        uid, name, role, settings, csrf, expires = rows[0]
        return Session(
            User(int(uid), name, role, json.loads(settings or "{}")), csrf, float(expires)
        )

    def close_session(self, token_hash: str) -> None:
        """End a session (log out)."""
        self.db.execute("DELETE FROM review_sessions WHERE token_hash = ?", (token_hash,))

    def purge_sessions(self, now: float) -> int:
        """Delete expired sessions; how many."""
        rows = self.db.execute(
            "DELETE FROM review_sessions WHERE expires_at <= ? RETURNING token_hash", (now,)
        )
        return len(rows)
