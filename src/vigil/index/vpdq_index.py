"""vPDQ index: the frames of every known video in one PDQ index, scored per video.

Each known video contributes its unique usable frame hashes (quality at or above the
threshold, identical hashes once), exactly the frames the reference's rule counts.
Every such frame gets a *frame key* (its row number in ``frame_video``) and is stored
in an inner ``PdqIndex`` under that key, so one range search per query frame finds
all candidate videos at once instead of comparing the query with every video.

Per candidate video the two percentages of ``vigil.signals.vpdq.match_percentages``
follow from the hits: *query-matched* = distinct query frames with a hit in that video
over the query's unique usable frames, *compared-matched* = distinct frames of the
video hit by some query frame over the video's unique usable frames. A video matches
when both reach their thresholds; defaults follow python-threatexchange (query 80%,
compared 0%), and both are parameters of ``query``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from vigil.errors import UsageError
from vigil.index.base import Index
from vigil.index.pdq_index import PdqIndex, parse_pdq
from vigil.index.storage import (
    load_array,
    prepare_directory,
    read_manifest,
    save_array,
    write_manifest,
)
from vigil.signals.pdq import PDQ_QUALITY_THRESHOLD
from vigil.signals.vpdq import (
    DEFAULT_COMPARED_MATCH_PERCENT,
    DEFAULT_QUERY_MATCH_PERCENT,
    VpdqFrame,
    VpdqSignal,
    parse_reference_lines,
)

Video = list[VpdqFrame] | str


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A known video matching the query, and the two shares of matched frames (0-100)."""

    entry_id: int
    query_percent: float
    compared_percent: float


def as_frames(video: Video, what: str = "vPDQ") -> list[VpdqFrame]:
    """Frames of a video given as frames or as the serialised ``;``-joined reference lines."""
    if isinstance(video, str):
        return parse_reference_lines(video.split(";"), source=what)
    return list(video)


def usable_hashes(frames: list[VpdqFrame], quality_threshold: int) -> list[str]:
    """Unique hashes of frames at or above the quality threshold, in first-seen order."""
    return list(dict.fromkeys(f.pdq.lower() for f in frames if f.quality >= quality_threshold))


class VpdqIndex(Index[Video, VideoMatch]):
    """Videos by their frames; a query scores every video sharing a near frame."""

    kind = "vpdq"
    signal = VpdqSignal

    def __init__(
        self,
        frames: PdqIndex,
        frame_video: np.ndarray,
        counts: dict[int, int],
        *,
        quality_threshold: int = PDQ_QUALITY_THRESHOLD,
    ) -> None:
        """Assemble from parts; use ``build`` or ``open`` instead."""
        self.frames = frames
        self.frame_video = frame_video
        #: Unique usable frames of every live video (the compared-% denominator).
        self.counts = counts
        self.quality_threshold = quality_threshold

    @classmethod
    def _rows(
        cls, entries: Iterable[tuple[int, Video]], first_key: int, quality_threshold: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]:
        keys: list[int] = []
        videos: list[int] = []
        hexes: list[str] = []
        counts: dict[int, int] = {}
        for entry_id, video in entries:
            eid = int(entry_id)
            if eid in counts:
                raise UsageError(f"video entry {eid} given twice")
            hashes = usable_hashes(as_frames(video, f"entry {eid}"), quality_threshold)
            counts[eid] = len(hashes)
            for h in hashes:
                keys.append(first_key + len(keys))
                videos.append(eid)
                hexes.append(h)
        words = parse_pdq(hexes, what="frame")
        return np.array(keys, np.int64), np.array(videos, np.int64), words, counts

    @classmethod
    def build(
        cls,
        entries: Iterable[tuple[int, Video]],
        *,
        quality_threshold: int = PDQ_QUALITY_THRESHOLD,
        mih_min_rows: int | None = None,
    ) -> Self:
        """Index a stream of ``(entry_id, frames)``; frames as a list or vPDQ string."""
        keys, videos, words, counts = cls._rows(entries, 0, quality_threshold)
        options = {} if mih_min_rows is None else {"mih_min_rows": mih_min_rows}
        # Frames were filtered by quality above; the inner index must not filter again.
        frames = PdqIndex.from_arrays(keys, words, quality_threshold=0, **options)
        return cls(frames, videos, counts, quality_threshold=quality_threshold)

    def add(self, entries: Iterable[tuple[int, Video]]) -> int:
        """Add videos (not yet live in the index) without a rebuild; returns how many."""
        keys, videos, words, counts = self._rows(
            entries, len(self.frame_video), self.quality_threshold
        )
        clash = sorted(set(counts) & set(self.counts))
        if clash:
            raise UsageError(f"video entry {clash[0]} is already indexed; disable it first")
        self.frames.add_arrays(keys, words)
        self.frame_video = np.concatenate([np.asarray(self.frame_video), videos])
        self.counts.update(counts)
        return len(counts)

    def disable(self, entry_ids: Iterable[int]) -> int:
        """Stop matching these videos; returns how many were live."""
        wanted = [int(e) for e in entry_ids if int(e) in self.counts]
        if not wanted:
            return 0
        keys = np.nonzero(np.isin(np.asarray(self.frame_video), wanted))[0]
        self.frames.disable(keys.tolist())
        for eid in wanted:
            del self.counts[eid]
        return len(wanted)

    def compact(self) -> Self:
        """A new index with the frames folded into one main segment."""
        index = type(self)(
            self.frames.compact(),
            self.frame_video,
            dict(self.counts),
            quality_threshold=self.quality_threshold,
        )
        return index

    def __len__(self) -> int:
        return len(self.counts)

    def query(
        self,
        value: Video,
        threshold: int | None = None,
        *,
        query_percent: float = DEFAULT_QUERY_MATCH_PERCENT,
        compared_percent: float = DEFAULT_COMPARED_MATCH_PERCENT,
    ) -> list[VideoMatch]:
        """Videos whose match percentages both reach their thresholds, best first.

        ``threshold`` is the PDQ distance at which two frames match (default 31).
        """
        return [
            m
            for m in self.scores(value, threshold)
            if m.query_percent >= query_percent and m.compared_percent >= compared_percent
        ]

    def scores(self, value: Video, threshold: int | None = None) -> list[VideoMatch]:
        """Both percentages for every video sharing at least one matching frame."""
        hashes = usable_hashes(as_frames(value, "query"), self.quality_threshold)
        if not hashes or not self.counts:
            return []
        radius = self.frames.radius(threshold)
        found = self.frames.search_words(parse_pdq(hashes, what="query frame"), radius)
        if not len(found):
            return []
        video = np.asarray(self.frame_video)[found.entry_id]
        q_pairs = np.unique(np.stack([video, found.query], axis=1), axis=0)
        c_pairs = np.unique(np.stack([video, found.entry_id], axis=1), axis=0)
        vids, q_hit = np.unique(q_pairs[:, 0], return_counts=True)
        _, c_hit = np.unique(c_pairs[:, 0], return_counts=True)
        out = [
            VideoMatch(int(v), 100.0 * int(qh) / len(hashes), 100.0 * int(ch) / self.counts[int(v)])
            for v, qh, ch in zip(vids, q_hit, c_hit, strict=True)
        ]
        out.sort(key=lambda m: (-m.query_percent, -m.compared_percent, m.entry_id))
        return out

    def save(self, path: str | Path) -> None:
        """Write the frame index into ``path/frames`` and the video tables beside it."""
        directory = prepare_directory(path)
        self.frames.save(directory / "frames")
        vids = np.array(sorted(self.counts), np.int64)
        save_array(directory, "frame-video", np.asarray(self.frame_video))
        save_array(directory, "videos", vids)
        save_array(directory, "counts", np.array([self.counts[v] for v in vids.tolist()], np.int64))
        body = {"quality_threshold": self.quality_threshold, "videos": len(vids)}
        write_manifest(directory, self.kind, body, ["frame-video", "videos", "counts"])

    @classmethod
    def open(cls, path: str | Path) -> Self:
        """Open a saved index (frames memory-mapped)."""
        directory, manifest = read_manifest(path, cls.kind)
        vids = load_array(directory, "videos", mmap=False).tolist()
        counts = load_array(directory, "counts", mmap=False).tolist()
        return cls(
            PdqIndex.open(directory / "frames"),
            load_array(directory, "frame-video"),
            dict(zip(vids, counts, strict=True)),
            quality_threshold=int(manifest["quality_threshold"]),
        )
