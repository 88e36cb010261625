"""Stage 4: the near-match indexes, fast and exact: PDQ by Hamming distance, vPDQ by frames.

One interface (``base.Index``: build, add, disable, query, save, open). Indexes know
entry ids, never hash sets: the store maps ids to sets and categories, and is the truth
an index is rebuilt from (``vigil.services.catalog``). Which index finds a signal type
is the signal type's own ``index`` attribute (``vigil.signals``): exact digests are
found by the store's digest B-tree, PDQ and vPDQ by the classes here.
"""

from __future__ import annotations

from vigil.index.base import BatchMatches, Index, Match
from vigil.index.pdq_index import PdqIndex, PdqLinearIndex
from vigil.index.vpdq_index import VideoMatch, VpdqIndex

__all__ = [
    "BatchMatches",
    "Index",
    "Match",
    "PdqIndex",
    "PdqLinearIndex",
    "VideoMatch",
    "VpdqIndex",
]
