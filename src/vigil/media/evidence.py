"""Walk evidence: folder trees and, inside them, archives nested to a limited depth.

The walking itself lives in the sources (``vigil.media.sources``): the folder source
lists the disk (stable order, no link following, loops, FIFOs, names that are not
UTF-8), the archive source reads members, and the registry nests them. This module
keeps the names the rest of Vigil has always imported.
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.media.archives import ArchiveLimits
from vigil.media.sources.base import SEPARATOR, EvidenceItem, Locator, display_path
from vigil.media.sources.folder import FolderSource
from vigil.media.sources.registry import expand_item, walk

__all__ = ["SEPARATOR", "EvidenceItem", "display_path", "expand_file", "walk"]


def expand_file(
    path: str, limits: ArchiveLimits | None = None, *, display: str | None = None
) -> Iterator[EvidenceItem]:
    """The members of the archive at ``path`` on disk (nothing if it is not one), recursively.

    Members are named after ``display`` (the archive's shown path; default ``path``).
    """
    locator = Locator.file(path)
    item = EvidenceItem(path=display or display_path(path), locator=locator)
    yield from expand_item(FolderSource.for_locator(locator), item, limits)
