"""API keys on every route but /healthz and /readyz, with roles and rate limits.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. HMA itself has
no authentication, so HMA clients send no key of their own; the header they can be
configured to send most easily is a fixed extra header, hence ``X-API-Key`` (also
accepted on Vigil's own routes). Keys are looked up by their SHA-256 in a cache that
is re-read every ``ttl`` seconds, so a revoked key stops working within that time and
the lookup path does not touch the database per request; a key the cache does not
know is looked up in the store by its hash (one indexed read), so a new key works at
once.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from vigil.services.access import ApiKey, api_keys, hash_key
from vigil.web.errors import ApiError
from vigil.web.pool import StorePool
from vigil.web.ratelimit import TokenBuckets


class KeyCache:
    """Live keys by hash, re-read from the store every ``ttl`` seconds."""

    def __init__(self, pool: StorePool, ttl: float = 2.0) -> None:
        """Read nothing until the first check.

        Keys are found by their public prefix (its first characters, as listings show
        it), then the presented key's digest is compared with each stored hash of that
        prefix in constant time.
        """
        self.pool = pool
        self.ttl = ttl
        self._keys: dict[str, list[tuple[str, ApiKey]]] = {}
        self._loaded = 0.0
        self._lock = threading.Lock()

    def check(self, key: str) -> ApiKey | None:
        """The record of a live key, or None."""
        if time.monotonic() - self._loaded > self.ttl:
            self.reload()
        digest = hash_key(key)
        for stored, record in self._keys.get(key[:_PREFIX], ()):
            if hmac.compare_digest(stored, digest):
                return record
        # Perhaps a key created moments ago: one indexed lookup by its hash.
        with self.pool.store() as store:
            record = api_keys(store).check(key)
        if record is None:
            return None
        known = self._keys.get(record.prefix, [])
        self._keys = {**self._keys, record.prefix: [*known, (digest, record)]}
        return record

    def reload(self) -> None:
        """Re-read the keys now."""
        with self._lock, self.pool.store() as store:
            keys: dict[str, list[tuple[str, ApiKey]]] = {}
            for stored, record in api_keys(store).live_hashes().items():
                keys.setdefault(record.prefix, []).append((stored, record))
            self._keys = keys
            self._loaded = time.monotonic()


#: Characters of a key kept as its public prefix (``vigil.store.apikeys``).
_PREFIX = 10


def presented_key(request: Request) -> str | None:
    """The key a request carries, if any."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("x-api-key", "").strip() or None


#: Who a request without a key is on the HMA routes under ``--hma-open-routes``: HMA has
#: no authentication, so its clients may read and write banks; never an admin.
ANONYMOUS = ApiKey(
    name="anonymous (hma-open-routes)",
    role="curator",
    prefix="",
    created_at="",
    revoked_at=None,
    rate_per_second=None,
)


def requirement(
    keys: KeyCache, buckets: TokenBuckets, role: str, *, open_routes: bool = False
) -> Callable[[Request], Awaitable[ApiKey]]:
    """A FastAPI dependency: a live key of at least ``role``, within its rate limit.

    With ``open_routes`` (HMA's routes under ``--hma-open-routes``) a request without
    a key is served as ``ANONYMOUS``; a request with a key is checked as usual.
    """

    async def dependency(request: Request) -> ApiKey:
        key = presented_key(request)
        if key is None and open_routes and ANONYMOUS.allows(role):
            record = ANONYMOUS
            wait = buckets.take(record.name)
            if wait:
                raise ApiError(
                    429,
                    "rate_limited",
                    f"rate limit of unauthenticated requests reached; retry in {wait:.2f} s",
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            request.state.api_key = record
            return record
        if key is None:
            raise ApiError(
                401,
                "unauthorized",
                "an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)",
                {"WWW-Authenticate": "Bearer"},
            )
        record = keys.check(key)
        if record is None:
            raise ApiError(
                401, "unauthorized", "unknown or revoked API key", {"WWW-Authenticate": "Bearer"}
            )
        if not record.allows(role):
            raise ApiError(
                403,
                "forbidden",
                f"this route needs the {role} role; key {record.name!r} is {record.role}",
            )
        wait = buckets.take(record.name, record.rate_per_second)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit of key {record.name!r} reached; retry in {wait:.2f} s",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        request.state.api_key = record
        return record

    return dependency
