"""vPDQ: a video's hash is the PDQ of frames sampled every ``seconds_per_hash``.

Frames are sampled and converted as the reference does (see vigil.media.video),
and each frame is hashed with the C++ library's float32 luma, as the reference's
frame hasher does, so that frame hashes agree with the ``vpdq`` package.

Matching follows the reference's rule: drop frames of quality below 50, dedupe
identical hashes, count a frame of one video as matched when some frame of the
other is within the PDQ distance threshold, and call the videos a match when the
share of matched query frames and the share of matched compared frames both reach
their thresholds. Defaults follow python-threatexchange (query 80%, compared 0%);
the reference's README example uses the reverse. Both are parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from vigil.errors import InvalidHashError
from vigil.media.reader import open_evidence
from vigil.media.video import (
    DEFAULT_MAX_FRAME_PIXELS,
    SkipCheckFailedError,
    VideoInfo,
    VideoSampler,
)
from vigil.signals.base import ContentKind, IndexKind, SignalType
from vigil.signals.pdq import (
    PDQ_MATCH_THRESHOLD,
    PDQ_QUALITY_THRESHOLD,
    PdqSignal,
    hamming,
    pdq_from_rgb,
)

if TYPE_CHECKING:
    from vigil.signals.content import Content

DEFAULT_QUERY_MATCH_PERCENT = 80.0
DEFAULT_COMPARED_MATCH_PERCENT = 0.0


@dataclass(frozen=True)
class VpdqFrame:
    """One frame's PDQ hash, its quality, its number and its time in seconds."""

    pdq: str
    quality: int
    frame: int
    timestamp: float


def vpdq_from_video(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    seconds_per_hash: float = 1.0,
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
) -> tuple[list[VpdqFrame], VideoInfo]:
    """Hash a video's sampled frames; raise a MediaError subclass if it cannot be read.

    A path is opened as evidence (read-only, without touching its access time) rather
    than by FFmpeg. The video is first decoded skipping unsampled non-reference frames;
    if that pass cannot prove its frame numbering, it is decoded again in full (see
    vigil.media.video). A file object that cannot seek is decoded in full only.
    """
    if isinstance(source, (str, os.PathLike)):
        with open_evidence(source) as f:
            return vpdq_from_video(
                f, seconds_per_hash=seconds_per_hash, max_frame_pixels=max_frame_pixels
            )
    start = source.tell() if source.seekable() else None
    if start is not None:
        try:
            return _hash_frames(source, seconds_per_hash, max_frame_pixels, skip_nonref=True)
        except SkipCheckFailedError:
            source.seek(start)
    return _hash_frames(source, seconds_per_hash, max_frame_pixels, skip_nonref=False)


def _hash_frames(
    source: str | os.PathLike[str] | BinaryIO,
    seconds_per_hash: float,
    max_frame_pixels: int,
    *,
    skip_nonref: bool,
) -> tuple[list[VpdqFrame], VideoInfo]:
    frames: list[VpdqFrame] = []
    with VideoSampler(
        source, seconds_per_hash=seconds_per_hash, max_frame_pixels=max_frame_pixels
    ) as sampler:
        for sample in sampler.frames(skip_nonref=skip_nonref):
            h = pdq_from_rgb(sample.rgb, luma="cpp")
            frames.append(VpdqFrame(h.hex, h.quality, sample.number, sample.timestamp))
        assert sampler.info is not None
        return frames, sampler.info


def to_reference_lines(frames: list[VpdqFrame]) -> list[str]:
    """Lines in the reference's file format: ``frame_number,quality,pdq_hex,timestamp``."""
    return [f"{f.frame},{f.quality},{f.pdq},{f.timestamp:.3f}" for f in frames]


def parse_reference_lines(lines: list[str], *, source: str = "<vpdq>") -> list[VpdqFrame]:
    """Parse the reference's vPDQ format; errors name the line."""
    frames: list[VpdqFrame] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 4:
            raise InvalidHashError(f"{source}:{number}: expected 4 comma-separated fields")
        try:
            frame, quality, timestamp = int(parts[0]), int(parts[1]), float(parts[3])
        except ValueError as exc:
            raise InvalidHashError(f"{source}:{number}: {exc}") from exc
        try:
            pdq = PdqSignal.validate(parts[2])
        except InvalidHashError as exc:
            raise InvalidHashError(f"{source}:{number}: {exc}") from exc
        frames.append(VpdqFrame(pdq, quality, frame, timestamp))
    return frames


def _usable(frames: list[VpdqFrame], quality_threshold: int) -> list[str]:
    return list(dict.fromkeys(f.pdq for f in frames if f.quality >= quality_threshold))


def match_percentages(
    query: list[VpdqFrame],
    compared: list[VpdqFrame],
    *,
    distance_threshold: int = PDQ_MATCH_THRESHOLD,
    quality_threshold: int = PDQ_QUALITY_THRESHOLD,
) -> tuple[float, float]:
    """Percent of the query's and of the compared video's unique usable frames that match."""
    q = _usable(query, quality_threshold)
    c = _usable(compared, quality_threshold)
    if not q or not c:
        return 0.0, 0.0
    q_hit = sum(1 for a in q if any(hamming(a, b) <= distance_threshold for b in c))
    c_hit = sum(1 for b in c if any(hamming(a, b) <= distance_threshold for a in q))
    return 100.0 * q_hit / len(q), 100.0 * c_hit / len(c)


def is_match(
    query: list[VpdqFrame],
    compared: list[VpdqFrame],
    *,
    query_percent: float = DEFAULT_QUERY_MATCH_PERCENT,
    compared_percent: float = DEFAULT_COMPARED_MATCH_PERCENT,
    distance_threshold: int = PDQ_MATCH_THRESHOLD,
    quality_threshold: int = PDQ_QUALITY_THRESHOLD,
) -> bool:
    """The reference's video-level verdict."""
    qp, cp = match_percentages(
        query, compared, distance_threshold=distance_threshold, quality_threshold=quality_threshold
    )
    if not _usable(query, quality_threshold) or not _usable(compared, quality_threshold):
        return False
    return qp >= query_percent and cp >= compared_percent


class VpdqSignal(SignalType):
    """vPDQ, stored as the reference's lines joined with ``;`` (frame,quality,pdq,timestamp)."""

    name = "vpdq"
    code = 5
    content_kinds: ClassVar[frozenset[ContentKind]] = frozenset({"video"})
    index: ClassVar[IndexKind] = "vpdq"
    default_threshold: ClassVar[int] = PDQ_MATCH_THRESHOLD

    @classmethod
    def compute(cls, content: Content) -> list[dict[str, Any]] | None:
        """The sampled frames' PDQ hashes; sets the record's size and frame count."""
        if content.video is None:
            return None
        opts = content.options
        frames, info = vpdq_from_video(
            content.video,
            seconds_per_hash=opts.seconds_per_hash,
            max_frame_pixels=opts.max_frame_pixels,
        )
        record = content.record
        record.width, record.height = info.width, info.height
        record.frames = len(frames)
        return [
            {"pdq": f.pdq, "quality": f.quality, "timestamp": f.timestamp, "frame": f.frame}
            for f in frames
        ]

    @classmethod
    def validate(cls, value: str) -> str:
        """Canonical serialisation, or InvalidHashError naming the bad frame."""
        frames = parse_reference_lines(value.split(";"), source="vpdq")
        if not frames:
            raise InvalidHashError("invalid vPDQ hash: no frames")
        return ";".join(to_reference_lines(frames))

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """100 minus the lesser of the two match percentages, rounded (0 = every frame matched)."""
        fa = parse_reference_lines(a.split(";"))
        fb = parse_reference_lines(b.split(";"))
        qp, cp = match_percentages(fa, fb)
        return round(100 - min(qp, cp))


__all__ = [
    "VpdqFrame",
    "VpdqSignal",
    "is_match",
    "match_percentages",
    "parse_reference_lines",
    "to_reference_lines",
    "vpdq_from_video",
]
