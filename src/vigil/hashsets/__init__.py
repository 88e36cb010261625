"""Hash sets: banks of known hashes, read from and written to the formats the field shares.

``model`` holds the records (a set and its entries), ``categories`` the category
profiles and the configured mappings between them, ``formats`` one adapter per file
format behind one registry, and ``importer`` / ``exporter`` the services that move
entries between files and the store (``vigil.store``).
"""

from __future__ import annotations

from vigil.hashsets.model import (
    HASH_TYPES,
    Entry,
    HashSetInfo,
    HashSetKind,
    ImportReport,
    Rejected,
)

__all__ = ["HASH_TYPES", "Entry", "HashSetInfo", "HashSetKind", "ImportReport", "Rejected"]
