"""Who may use the service, and what it tells others: API keys, webhooks, the match log.

The rules (roles, key hashing, webhook URL and secret checks, the event queue's
at-least-once delivery) are the store repositories' own and are tested there; this
module is the door the CLI and the routes go through, so that neither holds a raw
database handle.
"""

from __future__ import annotations

from vigil.store import Store
from vigil.store.actions import ActionRepository, QueuedEvent, Webhook
from vigil.store.apikeys import ROLES, ApiKey, ApiKeyRepository, hash_key

__all__ = ["ROLES", "ApiKey", "QueuedEvent", "Webhook", "actions", "api_keys", "hash_key"]


def api_keys(store: Store) -> ApiKeyRepository:
    """The API keys of ``store``: create (shown once, stored hashed), list, revoke, check."""
    return ApiKeyRepository(store.db)


def actions(store: Store) -> ActionRepository:
    """Webhooks, their persistent event queue, and the match log of ``store``."""
    return ActionRepository(store.db)
