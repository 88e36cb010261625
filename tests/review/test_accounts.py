"""Examiners' accounts and sessions, on both store backends."""

from __future__ import annotations

import pytest

from tests.stores import store_url  # noqa: F401 - the fixture
from vigil.errors import UsageError
from vigil.review.accounts import Accounts, csrf_ok, hash_password, verify_password
from vigil.store import open_store


def test_passwords_are_argon2id_phc_strings() -> None:
    encoded = hash_password("a long enough password")
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("a long enough password", encoded)
    assert not verify_password("a long enough passworD", encoded)
    assert not verify_password("anything", "not a hash")
    assert hash_password("same") != hash_password("same")  # a fresh salt


def test_accounts_sessions_and_settings(store_url: str) -> None:  # noqa: F811
    with open_store(store_url) as store:
        accounts = Accounts(store)
        alice = accounts.add("alice", "reviewer", "correct horse battery")
        with pytest.raises(UsageError, match="exists"):
            accounts.add("alice", "lead", "correct horse battery")
        with pytest.raises(UsageError, match="at least"):
            accounts.add("bob", "reviewer", "short")
        with pytest.raises(UsageError, match="role"):
            accounts.add("bob", "admin", "correct horse battery")
        assert accounts.login("alice", "wrong password!") is None
        assert accounts.login("nobody", "correct horse battery") is None
        opened = accounts.login("alice", "correct horse battery")
        assert opened is not None
        token, session = opened
        assert session.user.name == "alice" and not session.user.is_lead
        assert accounts.session(token) == session
        assert (
            csrf_ok(session, session.csrf)
            and not csrf_ok(session, "x")
            and not csrf_ok(session, None)
        )
        assert accounts.session("forged") is None and accounts.session(None) is None
        updated = accounts.save_settings(alice, {"blur": "5", "grey": "", "break_minutes": "10"})
        assert updated.settings == {
            "blur": 5,
            "grey": False,
            "break_minutes": 10,
            "break_reveals": 20,
        }
        with pytest.raises(UsageError, match="blur"):
            accounts.save_settings(alice, {"blur": "0"})
        accounts.logout(token)
        assert accounts.session(token) is None
