"""Near-duplicate groups: a reviewer grades a group once, not each of its members.

Members are distinct media (exact duplicates, same SHA-256, are one member with
copies). Images are linked when their PDQ hashes are within a distance (31 by
default, the matching threshold) and both are of usable quality; videos when their
vPDQ frame sets match as the reference decides (``signals.vpdq.is_match``). A group
is a connected component of those links (single linkage: A~B and B~C put A, B and C
together even if A and C are further apart), which is what lets a series of
re-encodes and crops land in one group.

The PDQ neighbours come from the same exact multi-index range search the matcher
uses (``index.pdq_index.PdqIndex``), with the case's own hashes as the indexed set;
components are found with array operations (pointer jumping), so a million images
group in minutes on two cores (``benchmarks/review_bench.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vigil.index.pdq_index import PdqIndex, parse_pdq
from vigil.signals.pdq import PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD
from vigil.signals.vpdq import VpdqFrame, is_match

#: Default distance within which two images are near duplicates.
DEFAULT_GROUP_DISTANCE = PDQ_MATCH_THRESHOLD


@dataclass(frozen=True)
class Medium:
    """What grouping needs of one distinct medium."""

    sha256: str
    pdq: str | None = None
    pdq_quality: int | None = None
    vpdq: list[dict[str, object]] | None = None


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes linked by edges ``a[i] - b[i]``.

    Each node's label is the smallest node of its component. Min-label propagation
    with pointer jumping: every round halves the paths at least, so a few dozen rounds
    settle even long chains.
    """
    labels = np.arange(n, dtype=np.int64)
    if n == 0 or len(a) == 0:
        return labels
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    while True:
        low = np.minimum(labels[a], labels[b])
        before = labels.copy()
        np.minimum.at(labels, a, low)
        np.minimum.at(labels, b, low)
        # pointer jumping: follow labels to their roots
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def pdq_groups(
    hashes: Sequence[str],
    qualities: Sequence[int | None] | None = None,
    *,
    distance: int = DEFAULT_GROUP_DISTANCE,
    quality_threshold: int = PDQ_QUALITY_THRESHOLD,
    workers: int | None = None,
) -> np.ndarray:
    """A group label for each PDQ hash (the position of the group's first member).

    Hashes below the quality threshold (flat, featureless pictures, which are all
    "near" each other) are left alone in their own groups.
    """
    n = len(hashes)
    if n == 0:
        return np.zeros(0, np.int64)
    words = parse_pdq(list(hashes), "hash")
    usable = np.ones(n, bool)
    if qualities is not None:
        usable = np.array([(q or 0) >= quality_threshold for q in qualities], bool)
    (rows,) = np.nonzero(usable)
    index = PdqIndex.from_arrays(rows.astype(np.int64), words[rows], workers=workers)
    found = index.search_words(words[rows], distance, workers=workers)
    a = rows[np.asarray(found.query, np.int64)]
    b = np.asarray(found.entry_id, np.int64)
    keep = a != b
    return components(n, a[keep], b[keep])


def vpdq_groups(videos: Sequence[list[VpdqFrame]]) -> np.ndarray:
    """A group label for each video: linked when the reference's verdict matches both ways.

    Pairwise, because cases hold far fewer videos than images; each pair is compared
    once.
    """
    n = len(videos)
    a: list[int] = []
    b: list[int] = []
    for i in range(n):
        for j in range(i + 1, n):
            if is_match(videos[i], videos[j]) or is_match(videos[j], videos[i]):
                a.append(i)
                b.append(j)
    return components(n, np.array(a, np.int64), np.array(b, np.int64))


def group_media(media: Sequence[Medium], *, distance: int = DEFAULT_GROUP_DISTANCE) -> list[int]:
    """A group number for each medium, numbered 1.. in the order groups first appear.

    Images by PDQ, videos by vPDQ; a medium with neither is a group of its own.
    """
    raw = list(range(len(media)))
    images = [i for i, m in enumerate(media) if m.pdq]
    if images:
        labels = pdq_groups(
            [media[i].pdq or "" for i in images],
            [media[i].pdq_quality for i in images],
            distance=distance,
        )
        for pos, label in zip(images, labels.tolist(), strict=True):
            raw[pos] = images[label]
    videos = [i for i, m in enumerate(media) if m.vpdq and not m.pdq]
    if videos:
        frames = [
            [
                VpdqFrame(
                    str(f["pdq"]),
                    int(f["quality"]),  # type: ignore[call-overload]
                    int(f.get("frame", 0)),  # type: ignore[call-overload]
                    float(f.get("timestamp", 0.0)),  # type: ignore[arg-type]
                )
                for f in media[i].vpdq or []
            ]
            for i in videos
        ]
        for pos, label in zip(videos, vpdq_groups(frames).tolist(), strict=True):
            raw[pos] = videos[label]
    numbers: dict[int, int] = {}
    return [numbers.setdefault(r, len(numbers) + 1) for r in raw]
