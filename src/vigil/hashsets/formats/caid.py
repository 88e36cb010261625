"""UK CAID exports: the VICS 1.2 shape with CAID categories A, B and C.

No public source gives the integers CAID writes in the Category field; they are
configuration (``vics_codes`` of profile ``uk-caid`` in the category profiles file).
Letters in the Category field are accepted too. A set of another profile is mapped
to CAID's through the configured mapping, or refused when none is configured.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vigil.errors import UsageError
from vigil.hashsets.categories import UK_CAID, CategoryProfile, load_profiles
from vigil.hashsets.formats.base import text_head
from vigil.hashsets.formats.vics1 import Vics1Format
from vigil.hashsets.model import Entry, HashSetInfo

_LETTER_CATEGORY = re.compile(r'"Category"\s*:\s*"[ABCabc]"')


class CaidFormat(Vics1Format):
    """CAID: VICS 1.2 with UK categories."""

    name = "caid"
    title = "UK CAID export (VICS 1.2 shape, categories A/B/C)"
    forced_profile = UK_CAID
    version = "1.2"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        text = text_head(head)
        if '"odata.metadata"' in text and _LETTER_CATEGORY.search(text):
            return 95
        return 0

    def _profile_for(self, info: HashSetInfo) -> CategoryProfile | None:
        return load_profiles().get(UK_CAID)

    def record(
        self, entry: Entry, info: HashSetInfo, profile: CategoryProfile | None
    ) -> dict[str, Any]:
        """A Media record whose category is translated to CAID's when the set's is not."""
        source = info.category_profile
        if entry.category is not None and source not in (None, UK_CAID):
            mapped = load_profiles().map(entry.category, source, UK_CAID)
            entry = _with_category(entry, mapped)
        elif source is None and entry.category is not None:
            raise UsageError(f"hash set {info.name} has no category profile to map to CAID's")
        return super().record(entry, info, profile)


def _with_category(entry: Entry, category: str | None) -> Entry:
    from dataclasses import replace

    return replace(entry, category=category)
