"""Fixtures for the hash-set tests: the store on both backends (from tests/stores.py)."""

from __future__ import annotations

from tests.stores import store_url

__all__ = ["store_url"]
