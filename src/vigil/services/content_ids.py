"""HMA content ids: the door the HMA-compatible routes go through to number entries.

HMA clients keep the small sequential ``bank_content_id`` numbers HMA hands out; Vigil
gives each entry such a number the first time an HMA route shows it (adding content
through HMA issues it at once), never issues one twice, and retires it when the
content is deleted through HMA (see ``vigil.store.content_ids``).
"""

from __future__ import annotations

from vigil.store import Store
from vigil.store.content_ids import ContentIdRepository

__all__ = ["ContentIdRepository", "content_ids"]


def content_ids(store: Store) -> ContentIdRepository:
    """The HMA content ids of ``store``: issue, look up, retire; and entry notes."""
    return ContentIdRepository(store.db)
