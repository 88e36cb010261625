"""A case's distinct media, as the review sees them: one per SHA-256, with its copies.

Exact duplicates are one medium: the first copy found (walk order) represents it and
is the one read again for pictures; the others are listed as places. A medium is
"matched" when any copy matched a hash set (the category under the review's profile
is the first match graded in it), "known" when it is in an ignore set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vigil.media.sniff import media_kind
from vigil.records import ScanItem


@dataclass
class ReviewMedium:
    """One distinct medium of a case."""

    first: ScanItem
    kind: str  # "image" or "video"
    places: list[ScanItem] = field(default_factory=list)
    matches: list[dict[str, Any]] = field(default_factory=list)
    known: bool = False
    group: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    #: The medium's identity (its first copy's SHA-256), kept plain: queues read it often.
    sha256: str = ""

    def __post_init__(self) -> None:
        """Take the identity from the first copy."""
        self.sha256 = self.sha256 or str(self.first.sha256)

    @property
    def matched(self) -> bool:
        """Whether any copy matched a hash set."""
        return bool(self.matches)

    def listed_category(self, profile: str) -> str | None:
        """The category a hash set gave it in ``profile`` (None: none, or another profile)."""
        for match in self.matches:
            if match.get("category") is not None and match.get("category_profile") == profile:
                return str(match["category"])
        return None

    def camera(self) -> str | None:
        """The camera serial key of its metadata, if any."""
        exif = self.meta.get("exif") or {}
        serial = exif.get("serial")
        return f"{exif.get('make') or ''}|{exif.get('model') or ''}|{serial}" if serial else None


def case_media(items: Iterable[ScanItem]) -> dict[str, ReviewMedium]:
    """The distinct pictures and videos of a case, in walk order (errors left out)."""
    media: dict[str, ReviewMedium] = {}
    for item in items:
        if item.error or not item.sha256 or item.kind != "file":
            continue
        kind = media_kind(item.type or "")
        if kind not in ("image", "video"):
            continue
        found = media.get(item.sha256)
        if found is None:
            found = media[item.sha256] = ReviewMedium(item, kind)
        found.places.append(item)
        found.known = found.known or item.known
        for match in item.matches:
            if match not in found.matches:
                found.matches.append(match)
    return media
