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

Two modes (docs/pdq.md): ``exact`` gives the reference's frames and hashes; ``fast``
skips B frames and hashes, at each sampling point, the decoded frame nearest to it
(vigil.media.video), which keeps the match verdicts at about twice the speed.
Either mode can split one long video at keyframes into segments hashed by several
worker processes (``workers``) and joined in order: the result is the serial one.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from vigil import parallel
from vigil.errors import InvalidHashError
from vigil.media.reader import open_evidence
from vigil.media.video import (
    DEFAULT_MAX_FRAME_PIXELS,
    VIDEO_MODES,
    SampledFrame,
    Segment,
    SkipCheckFailedError,
    VideoInfo,
    VideoMode,
    VideoSampler,
    index_video,
    plan_segments,
)
from vigil.parallel import worker_pool
from vigil.signals.base import ContentKind, IndexKind, SignalType
from vigil.signals.pdq import (
    PDQ_MATCH_THRESHOLD,
    PDQ_QUALITY_THRESHOLD,
    PdqHash,
    PdqSignal,
    hamming,
    pdq_from_plane,
    pdq_from_rgb,
)

if TYPE_CHECKING:
    from vigil.signals.content import Content

DEFAULT_QUERY_MATCH_PERCENT = 80.0
DEFAULT_COMPARED_MATCH_PERCENT = 0.0

#: Videos shorter than this many packets (frames) are not worth splitting.
MIN_SEGMENT_FRAMES = 600
#: A segment holds about this many frames at most (a minute at 30 fps), and a video is
#: split into at most MAX_SEGMENTS.
SEGMENT_FRAMES = 1800
MAX_SEGMENTS = 512


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
    mode: VideoMode = "exact",
    workers: int = 1,
    executor: Executor | None = None,
    min_segment_frames: int = MIN_SEGMENT_FRAMES,
) -> tuple[list[VpdqFrame], VideoInfo]:
    """Hash a video's sampled frames; raise a MediaError subclass if it cannot be read.

    A path is opened as evidence (read-only, without touching its access time) rather
    than by FFmpeg. Exact mode first decodes skipping unsampled non-reference frames;
    if that pass cannot prove its frame numbering, it decodes again in full (see
    vigil.media.video). Fast mode falls back to exact mode when the stream cannot be
    sampled its way. A file object that cannot seek is decoded in full only.

    ``workers`` > 1 (a path only): a video of at least ``min_segment_frames`` frames is
    split at keyframes into segments hashed in parallel (on ``executor``, else a pool
    of that many processes) and joined in order; the result is the serial one, and
    the serial path is taken whenever a segment cannot prove it.
    """
    if mode not in VIDEO_MODES:
        raise ValueError(f"unknown video mode {mode!r}")
    if isinstance(source, (str, os.PathLike)):
        if workers > 1 or executor is not None:
            split = _hash_segments(
                source,
                seconds_per_hash,
                max_frame_pixels,
                mode,
                workers,
                executor,
                min_segment_frames,
            )
            if split is not None:
                return split
        with open_evidence(source) as f:
            return vpdq_from_video(
                f, seconds_per_hash=seconds_per_hash, max_frame_pixels=max_frame_pixels, mode=mode
            )
    start = source.tell() if source.seekable() else None
    if start is not None:
        try:
            return _hash_frames(source, seconds_per_hash, max_frame_pixels, pass_=mode)
        except SkipCheckFailedError:
            source.seek(start)
        if mode == "fast":
            try:
                return _hash_frames(source, seconds_per_hash, max_frame_pixels, pass_="exact")
            except SkipCheckFailedError:
                source.seek(start)
    return _hash_frames(source, seconds_per_hash, max_frame_pixels, pass_="plain")


def _hash_frames(
    source: str | os.PathLike[str] | BinaryIO,
    seconds_per_hash: float,
    max_frame_pixels: int,
    *,
    pass_: str,
    segment: Segment | None = None,
    threads: int | None = None,
) -> tuple[list[VpdqFrame], VideoInfo]:
    """One decoding pass: ``fast``, ``exact`` (skipping, proven) or ``plain``."""
    frames: list[VpdqFrame] = []
    with VideoSampler(
        source,
        seconds_per_hash=seconds_per_hash,
        max_frame_pixels=max_frame_pixels,
        threads=threads,
        fast_pixels=pass_ == "fast",
    ) as sampler:
        if pass_ == "fast":
            samples = sampler.frames_fast(segment)
        elif segment is not None:
            samples = sampler.frames_exact_segment(segment)
        else:
            samples = sampler.frames(skip_nonref=pass_ == "exact")
        for sample in samples:
            h = _frame_pdq(sample)
            frames.append(VpdqFrame(h.hex, h.quality, sample.number, sample.timestamp))
        assert sampler.info is not None
        return frames, sampler.info


def _frame_pdq(sample: SampledFrame) -> PdqHash:
    """PDQ of a sampled frame: of its RGB pixels (the reference's way) or of its Y plane."""
    if sample.luma is None:
        assert sample.rgb is not None
        return pdq_from_rgb(sample.rgb, luma="cpp")
    y = sample.luma
    return pdq_from_plane(y.plane, y.width, black=y.black, white=y.white)


def _segment_job(
    segment: Segment,
    *,
    path: str,
    seconds_per_hash: float,
    max_frame_pixels: int,
    mode: VideoMode,
) -> list[VpdqFrame] | None:
    """One segment in a worker process; None when it cannot prove its frames."""
    try:
        with open_evidence(path) as f:
            frames, _ = _hash_frames(
                f,
                seconds_per_hash,
                max_frame_pixels,
                pass_=mode,
                segment=segment,
                threads=1,
            )
    except SkipCheckFailedError:
        return None
    return frames


def _hash_segments(
    path: str | os.PathLike[str],
    seconds_per_hash: float,
    max_frame_pixels: int,
    mode: VideoMode,
    workers: int,
    executor: Executor | None,
    min_frames: int,
) -> tuple[list[VpdqFrame], VideoInfo] | None:
    """The segment-parallel path, or None when the video should be hashed serially."""
    with open_evidence(path) as f, VideoSampler(f, max_frame_pixels=max_frame_pixels) as probe:
        # The container's header says how long the video is: a short one is not worth
        # the indexing pass (which reads every packet).
        info = probe.info
        if (
            info is not None
            and info.duration is not None
            and (info.duration * info.frame_rate < min_frames)
        ):
            return None
    with open_evidence(path) as f:
        index = index_video(f, max_frame_pixels=max_frame_pixels)
    if len(index.pts) < min_frames:
        return None
    # A few segments per worker, so that one slow segment does not hold the others up,
    # and at most about a minute of video each, so that cores that free up later still
    # find work (see _run_segments).
    parts_wanted = max(max(2, workers) * 3, math.ceil(len(index.pts) / SEGMENT_FRAMES))
    segments = plan_segments(index, min(parts_wanted, MAX_SEGMENTS))
    if len(segments) < 2:
        return None
    job = partial(
        _segment_job,
        path=os.fspath(path),
        seconds_per_hash=seconds_per_hash,
        max_frame_pixels=max_frame_pixels,
        mode=mode,
    )
    if executor is not None:
        parts = list(executor.map(job, segments))
    else:
        try:
            parts = _run_segments(job, segments, workers)
        except (BrokenProcessPool, AssertionError, OSError):
            # A segment's decoder crashed its process, or this process may not start
            # children (a daemonic cluster worker): the serial pass decides.
            return None
    if any(part is None for part in parts):
        return None
    return [frame for part in parts if part is not None for frame in part], index.info


def _run_segments(
    job: Callable[[Segment], list[VpdqFrame] | None], segments: list[Segment], workers: int
) -> list[list[VpdqFrame] | None]:
    """Hash the segments in order: here while no core is idle, then on a pool that uses them.

    While every core is busy (``parallel.idle_cores``), segments are hashed in this
    process, one after the other, the cores looked at before each: a scan's workers each
    hashing a long video never start a pool per core each. Once a core is idle, a pool
    of ``workers`` processes takes the rest, as many at a time as there are idle cores
    plus those it already uses (looked at whenever a segment ends, so that a long video
    that began while every core was busy takes the cores that free up later). A segment
    that cannot prove its frames ends the run: the serial pass decides.
    """
    parts: list[list[VpdqFrame] | None] = [None] * len(segments)
    pending = deque(range(len(segments)))
    running: dict[Future[list[VpdqFrame] | None], int] = {}
    pool = None
    try:
        while pending or running:
            if pool is None:
                if workers > 1 and len(pending) > 1 and parallel.idle_cores():
                    pool = worker_pool(workers)
                    continue
                i = pending.popleft()
                parts[i] = job(segments[i])
                if parts[i] is None:
                    return [None]
                continue
            if pending:
                # This process waits meanwhile: its own core, the pool's running
                # workers (busy by their own doing) and the idle cores are ours.
                allowed = min(workers, 1 + len(running) + parallel.idle_cores())
                while pending and len(running) < allowed:
                    i = pending.popleft()
                    running[pool.submit(job, segments[i])] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                parts[i] = future.result()
                if parts[i] is None:
                    return [None]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return parts


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
            mode=opts.video_mode,
            workers=opts.video_workers,
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
