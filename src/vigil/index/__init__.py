"""Stage 3: indexes that answer "which stored entries match this hash?", fast and exactly.

One interface (``base.Index``: build, add, disable, query, save, open) and one explicit
registry below, one line per signal type. Indexes know entry ids, never hash sets:
the store maps ids to sets and categories, and is the truth an index is rebuilt from.
"""

from __future__ import annotations

from vigil.index.base import BatchMatches, Index, Match
from vigil.index.exact import ExactIndex, Md5Index, Sha1Index, Sha256Index
from vigil.index.pdq_index import PdqIndex, PdqLinearIndex
from vigil.index.vpdq_index import VideoMatch, VpdqIndex

#: The default index class of each signal type, by the signal type's stored name.
INDEX_TYPES: dict[str, type[Index]] = {
    Md5Index.signal.name: Md5Index,
    Sha1Index.signal.name: Sha1Index,
    Sha256Index.signal.name: Sha256Index,
    PdqIndex.signal.name: PdqIndex,
    VpdqIndex.signal.name: VpdqIndex,
}

__all__ = [
    "INDEX_TYPES",
    "BatchMatches",
    "ExactIndex",
    "Index",
    "Match",
    "Md5Index",
    "PdqIndex",
    "PdqLinearIndex",
    "Sha1Index",
    "Sha256Index",
    "VideoMatch",
    "VpdqIndex",
]
