"""Decode sampled video frames with PyAV, as the vPDQ reference samples them.

The reference (facebook/ThreatExchange vpdq, FFmpeg based) decodes every frame,
numbers frames in the order the decoder returns them, and keeps frame ``n`` when
``n % int(seconds_per_hash * fps) == 0`` (every frame when that is 0), with fps
the stream's average frame rate (its base rate when that is unknown). It converts
a kept frame to RGB24 with swscale's area filter at the frame's own size; so do we,
so that the pixels are the same. PyAV links FFmpeg's libraries, so no ffmpeg
binary is needed at run time, and frames are decoded one at a time: a 4 GB video
is never in memory.

Speed: decoding every frame is most of the cost. For H.264 and HEVC the sampler
asks the decoder to skip non-reference frames that are not sampled (nothing else
depends on them, so every other frame decodes to the same pixels), and numbers
frames by the rank of their presentation time among all packets, which equals the
reference's decode-output count. That numbering is checked at the end (every
sampled rank present, every fully decoded packet produced its frame); if the check
fails (variable frame rate, missing timestamps, a damaged stream), the caller
decodes again the plain way. See ``SkipCheckFailedError``.

Fast mode (``frames_fast``) decodes only what its sampling points need. At the
sampled frame itself the decoder decodes everything; within ``FAST_REFERENCE_WINDOW``
frames of it, the reference B frames that frame may refer to; elsewhere it skips every
B frame (``skip_frame=BIDIR``: in the H.264 and HEVC streams encoders write no I or P
frame refers to a B frame, so what is decoded keeps the reference's pixels); and after
a GOP's last sampling point it skips the rest of the GOP (packets are read a GOP ahead
to know where it ends). Each sampling point then takes the decoded frame nearest to it
in time, never across a keyframe (``NearestPicker``), which for a constant-rate stream
is the reference's own frame. Because each GOP is resolved alone, one long video can be
split at keyframes (``index_video``, ``plan_segments``) and decoded by several workers
with the result of one pass. Frames are converted and hashed as in exact mode
(measured: converting 1080p frames at 910x512 first moves the hashes by 9 bits on
average, so fast mode does not).
"""

from __future__ import annotations

import itertools
import math
import os
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO, Literal

import numpy as np
from numpy.typing import NDArray

from vigil.errors import CorruptMediaError, DecompressionBombError, NoFramesError, describe

#: Cap on the pixels of one video frame (width x height): 8K UHD is 33 MP.
DEFAULT_MAX_FRAME_PIXELS = 40_000_000

#: Codecs whose decoders honour "skip non-reference frames" with one frame per packet.
SKIPPING_CODECS = frozenset({"h264", "hevc"})

#: Fast mode holds at most this many bytes of compressed packets (one GOP) in memory.
FAST_GOP_BYTES = 64 << 20

VideoMode = Literal["fast", "exact"]
VIDEO_MODES: tuple[VideoMode, ...] = ("fast", "exact")


def _av() -> Any:
    """PyAV, imported on first use: it costs a tenth of a second that most commands never need."""
    import av

    return av


class SkipCheckFailedError(Exception):
    """The fast (non-reference skipping) pass could not prove its frame numbering."""


#: 8-bit planar YUV layouts whose first plane is the frame's luma (Y), one byte a pixel.
_Y_PLANE_FORMATS = frozenset(
    {
        "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
        "yuv440p", "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21",
    }
)  # fmt: skip


@dataclass(frozen=True)
class LumaPlane:
    """A frame's Y plane as the decoder laid it out: ``height`` rows of ``stride`` bytes.

    ``width`` bytes of each row are pixels; ``black``/``white`` give the range (16/235
    for limited-range video, 0/255 for full range).
    """

    plane: np.ndarray
    width: int
    black: int
    white: int


@dataclass(frozen=True)
class SampledFrame:
    """One kept frame: its number in decode-output order, its time, its pixels.

    ``rgb`` (what the reference converts the frame to), or, when the sampler was asked
    for luma (fast mode), ``luma``: the Y plane, with ``rgb`` None. Frames in other
    pixel formats (RGB, palette, more than 8 bits) always come as ``rgb``.
    """

    number: int
    timestamp: float
    rgb: np.ndarray | None
    luma: LumaPlane | None = None


def luma_plane(frame: Any) -> LumaPlane | None:
    """The Y plane of an 8-bit YUV frame, without a copy; None for other formats."""
    name = frame.format.name
    if name not in _Y_PLANE_FORMATS:
        return None
    plane = frame.planes[0]
    rows = np.frombuffer(plane, dtype=np.uint8)
    height, stride = frame.height, plane.line_size
    if stride < frame.width or rows.size < height * stride:
        return None
    full = name.startswith("yuvj") or frame.color_range == 2  # AVCOL_RANGE_JPEG
    black, white = (0, 255) if full else (16, 235)
    return LumaPlane(rows[: height * stride].reshape(height, stride), frame.width, black, white)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream that is sampled."""

    width: int
    height: int
    frame_rate: float
    codec: str
    duration: float | None


def _av_reason(exc: BaseException) -> str:
    """FFmpeg's reason, without the file name (ours is a file descriptor number)."""
    return getattr(exc, "strerror", None) or describe(exc)


def _stream_rate(stream: Any) -> Fraction:
    for rate in (stream.average_rate, stream.base_rate, stream.guessed_rate):
        if rate is not None and rate.numerator and rate.denominator:
            return Fraction(rate.numerator, rate.denominator)
    raise CorruptMediaError("video stream has no frame rate")


class VideoSampler:
    """Open a video (a path or a readable binary file) and yield its sampled frames.

    Use as a context manager; ``info`` is valid after opening.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        seconds_per_hash: float = 1.0,
        max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
        threads: int | None = None,
        fast_pixels: bool = False,
    ) -> None:
        """Prepare to sample ``source``; nothing is opened until ``__enter__``.

        ``threads``: decoder threads (None: FFmpeg's default; 1 where the caller already
        runs one worker per core, as the segment workers do). ``fast_pixels`` (fast
        mode): hand out the Y plane of YUV frames instead of converting them to RGB (see
        ``SampledFrame``), and decode H.264/HEVC without the loop filter (about 15% less
        decoding; frames move by about 2 bits, see docs/pdq.md).
        """
        if seconds_per_hash < 0:
            raise ValueError("seconds_per_hash must be >= 0")
        self._source = source
        self._seconds_per_hash = seconds_per_hash
        self._max_frame_pixels = max_frame_pixels
        self._threads = threads
        self._fast_pixels = fast_pixels
        self._container: Any = None
        self.info: VideoInfo | None = None

    def __enter__(self) -> VideoSampler:
        """Open the container and find its first video stream."""
        source = os.fspath(self._source) if isinstance(self._source, os.PathLike) else self._source
        try:
            self._container = _av().open(source, mode="r", metadata_errors="ignore")
        except _av().FFmpegError as exc:
            raise CorruptMediaError(f"cannot open video container: {_av_reason(exc)}") from exc
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptMediaError(f"cannot open video container: {exc}") from exc
        streams = self._container.streams.video
        if not streams:
            self.close()
            raise NoFramesError("container has no video stream")
        stream = streams[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > self._max_frame_pixels:
            self.close()
            raise DecompressionBombError(
                f"video frames declare {width}x{height} = {width * height:,} pixels, over the "
                f"limit of {self._max_frame_pixels:,}"
            )
        try:
            rate = _stream_rate(stream)
        except CorruptMediaError:
            self.close()
            raise
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        # FFmpeg's default threading is kept: measured on a quiet machine it decodes the
        # benchmark's H.264 about 25% faster than one thread (0.40 against 0.51 s per
        # video minute), even though a scan also runs one worker process per core.
        if self._threads is not None:
            stream.codec_context.thread_count = self._threads
        if self._fast_pixels and stream.codec_context.name in SKIPPING_CODECS:
            # Read when the decoder opens, at the first packet: no deblocking, in any frame.
            stream.codec_context.options = {"skip_loop_filter": "all"}
        self._stream = stream
        self._rate = rate
        self.info = VideoInfo(width, height, float(rate), stream.codec_context.name, duration)
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the container."""
        self.close()

    def close(self) -> None:
        """Close the container (idempotent)."""
        if self._container is not None:
            self._container.close()
            self._container = None

    def frames(self, *, skip_nonref: bool = False) -> Iterator[SampledFrame]:
        """Yield the sampled frames in order; raise NoFramesError if none decodes.

        With ``skip_nonref`` (H.264/HEVC only, else ignored) unsampled non-reference
        frames are not decoded; SkipCheckFailedError is raised, possibly after some frames
        were yielded, when the numbering cannot be proven: decode again without it.
        """
        frame_mod = int(self._seconds_per_hash * float(self._rate)) or 1
        if skip_nonref and frame_mod > 1 and self._stream.codec_context.name in SKIPPING_CODECS:
            yield from self._frames_skipping(frame_mod)
        else:
            yield from self._frames_plain(frame_mod)

    def _sample(self, frame: Any, number: int) -> SampledFrame:
        if frame.width * frame.height > self._max_frame_pixels:
            raise DecompressionBombError(
                f"frame {number} is {frame.width}x{frame.height}, over the pixel limit"
            )
        timestamp = float(np.float32(number) / np.float32(float(self._rate)))
        if self._fast_pixels and (plane := luma_plane(frame)) is not None:
            return SampledFrame(number, timestamp, None, plane)
        rgb = frame.to_ndarray(format="rgb24", interpolation="AREA")
        return SampledFrame(number, timestamp, np.ascontiguousarray(rgb))

    def _frames_plain(self, frame_mod: int) -> Iterator[SampledFrame]:
        number = -1
        try:
            for frame in self._container.decode(self._stream):
                number += 1
                if number % frame_mod == 0:
                    yield self._sample(frame, number)
        except _av().FFmpegError as exc:
            if number < 0:
                raise CorruptMediaError(f"cannot decode video: {_av_reason(exc)}") from exc
            # A truncated tail: keep the frames decoded so far.
            return
        if number < 0:
            raise NoFramesError("video has no decodable frame")

    def _frames_skipping(self, frame_mod: int) -> Iterator[SampledFrame]:
        stream = self._stream
        context = stream.codec_context
        ticks_per_frame = 1 / (float(stream.time_base) * float(self._rate))
        all_pts: list[int] = []
        seen: set[int] = set()
        full_decode: set[int] = set()
        produced: set[int] = set()
        sampled: list[int] = []
        origin: int | None = None
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    pts = packet.pts
                    if pts is None or pts in seen:
                        raise SkipCheckFailedError("packet without a unique timestamp")
                    seen.add(pts)
                    insort(all_pts, pts)
                    origin = pts if origin is None else min(origin, pts)
                    approx = round((pts - origin) / ticks_per_frame)
                    wanted = min(approx % frame_mod, frame_mod - approx % frame_mod) <= 1
                    context.skip_frame = "DEFAULT" if wanted else "NONREF"
                    if wanted:
                        full_decode.add(pts)
                for frame in packet.decode():
                    if frame.pts is None or frame.pts in produced:
                        raise SkipCheckFailedError("frame without a unique timestamp")
                    produced.add(frame.pts)
                    rank = bisect_left(all_pts, frame.pts)
                    if rank % frame_mod == 0:
                        sampled.append(rank)
                        yield self._sample(frame, rank)
        except _av().FFmpegError as exc:
            raise SkipCheckFailedError(f"decoder error: {exc}") from exc
        finally:
            context.skip_frame = "DEFAULT"
        if not all_pts:
            raise NoFramesError("video has no decodable frame")
        if sampled != list(range(0, len(all_pts), frame_mod)) or not full_decode <= produced:
            raise SkipCheckFailedError("frame numbering not proven")

    def frames_fast(self, segment: Segment | None = None) -> Iterator[SampledFrame]:
        """Fast mode: decode what the sampling points need, hash the frame nearest each.

        See the module docstring: sampled frames decoded fully, the B frames they may
        refer to near them, no other B frame, no GOP tail after its last sampling point.

        With ``segment`` only that part of the video is decoded (see ``plan_segments``);
        the frames are those the whole video's fast pass gives for its sampling points.
        SkipCheckFailedError: the stream cannot be sampled this way (missing or
        out-of-order timestamps, a seek that missed its keyframe); use exact mode.
        """
        stream = self._stream
        context = stream.codec_context
        frame_mod = int(self._seconds_per_hash * float(self._rate)) or 1
        if frame_mod == 1:
            # Every frame is sampled: nothing to skip, and "every frame" means every
            # frame decoded, not one per frame period (variable-rate streams differ).
            if segment is not None:
                raise SkipCheckFailedError("every frame sampled: no segments")
            yield from self._frames_plain(1)
            return
        ticks = 1 / (float(stream.time_base) * float(self._rate))
        origin = segment.origin if segment is not None else stream.start_time
        picker = NearestPicker(frame_mod)
        if segment is not None and segment.start_pts is not None:
            picker.start_at((segment.start_pts - segment.origin) / ticks)
        keys: set[int] = set()
        last = -float("inf")
        emitted = 0

        def take(frame: Any) -> Iterator[SampledFrame]:
            nonlocal origin, last, emitted
            if frame.pts is None or origin is None:
                raise SkipCheckFailedError("frame without a timestamp")
            pos = (frame.pts - origin) / ticks
            if pos <= last:
                raise SkipCheckFailedError("frames out of presentation order")
            last = pos
            for chosen_pos, chosen in picker.push(pos, frame.pts in keys, frame):
                emitted += 1
                yield self._sample(chosen, round(chosen_pos))

        try:
            for gop, next_key in self._gops(segment):
                if origin is None:
                    origin = gop[0].pts
                # Nothing after the GOP's last sampling point (and the frames that point
                # may refer to) is needed: skip the GOP's tail altogether.
                limit = float("inf")
                if next_key is not None:
                    last_point = (
                        math.ceil((next_key - origin) / ticks / frame_mod) - 1
                    ) * frame_mod
                    limit = last_point + 2 * FAST_REFERENCE_WINDOW
                for packet in gop:
                    if packet.is_keyframe:
                        keys.add(packet.pts)
                    pos = (packet.pts - origin) / ticks
                    context.skip_frame = "ALL" if pos > limit else _fast_skip(pos, frame_mod)
                    for frame in packet.decode():
                        yield from take(frame)
            context.skip_frame = "DEFAULT"
            for frame in context.decode(None):
                yield from take(frame)
        except _av().FFmpegError as exc:
            if segment is not None or emitted == 0:
                raise SkipCheckFailedError(f"decoder error: {exc}") from exc
            # A truncated tail, as in exact mode: keep what was sampled.
        finally:
            context.skip_frame = "DEFAULT"
        end = None
        if segment is not None and segment.end_pts is not None:
            end = (segment.end_pts - segment.origin) / ticks
        for chosen_pos, chosen in picker.finish(end):
            emitted += 1
            yield self._sample(chosen, round(chosen_pos))
        if last == -float("inf") and segment is None:
            raise NoFramesError("video has no decodable frame")

    def frames_exact_segment(self, segment: Segment) -> Iterator[SampledFrame]:
        """Exact mode for one segment: the frames the serial pass samples in it, same pixels.

        Frames are numbered by the global rank of their timestamp (``segment.pts`` and
        ``first_rank``); the numbering is proven as in the serial skipping pass, else
        SkipCheckFailedError.
        """
        stream = self._stream
        context = stream.codec_context
        frame_mod = int(self._seconds_per_hash * float(self._rate)) or 1
        skipping = frame_mod > 1 and context.name in SKIPPING_CODECS
        own = segment.pts
        full_decode: set[int] = set()
        produced: set[int] = set()
        sampled: list[int] = []

        def rank(pts: int) -> int:
            local = int(np.searchsorted(own, pts))
            if local >= len(own) or own[local] != pts:
                raise SkipCheckFailedError("a frame outside its segment")
            return segment.first_rank + local

        def take(frame: Any) -> Iterator[SampledFrame]:
            if frame.pts is None or frame.pts in produced:
                raise SkipCheckFailedError("frame without a unique timestamp")
            produced.add(frame.pts)
            number = rank(frame.pts)
            if number % frame_mod == 0:
                sampled.append(number)
                yield self._sample(frame, number)

        try:
            for packet in self._packets(segment):
                if packet.pts is None:
                    raise SkipCheckFailedError("packet without a timestamp")
                wanted = not skipping or rank(packet.pts) % frame_mod == 0
                if skipping:
                    context.skip_frame = "DEFAULT" if wanted else "NONREF"
                if wanted:
                    full_decode.add(packet.pts)
                for frame in packet.decode():
                    yield from take(frame)
            context.skip_frame = "DEFAULT"
            for frame in context.decode(None):
                yield from take(frame)
        except _av().FFmpegError as exc:
            raise SkipCheckFailedError(f"decoder error: {exc}") from exc
        finally:
            context.skip_frame = "DEFAULT"
        expected = [
            segment.first_rank + i
            for i in range(len(own))
            if (segment.first_rank + i) % frame_mod == 0
        ]
        if sorted(sampled) != expected or not full_decode <= produced:
            raise SkipCheckFailedError("segment's frame numbering not proven")

    def _gops(self, segment: Segment | None) -> Iterator[tuple[list[Any], int | None]]:
        """Packets in decode order, a GOP at a time, each with the next keyframe's pts.

        Knowing where the next GOP starts lets fast mode skip the tail of this one. A GOP
        over ``FAST_GOP_BYTES`` is passed on in parts, without that knowledge.
        """
        gop: list[Any] = []
        size = 0
        for packet in self._packets(segment):
            if packet.pts is None:
                raise SkipCheckFailedError("packet without a timestamp")
            if packet.is_keyframe and gop:
                yield gop, packet.pts
                gop, size = [], 0
            gop.append(packet)
            size += packet.size
            if size > FAST_GOP_BYTES:
                yield gop, None
                gop, size = [], 0
        if gop:
            yield gop, segment.end_pts if segment is not None else None

    def _packets(self, segment: Segment | None) -> Iterator[Any]:
        """The stream's non-empty packets in decode order, or those of one segment."""
        demux = self._container.demux(self._stream)
        if segment is None:
            yield from (p for p in demux if p.size)
            return
        if segment.start_pts is not None:
            self._container.seek(
                segment.start_pts, stream=self._stream, backward=True, any_frame=False
            )
            demux = self._container.demux(self._stream)
        first = True
        for packet in demux:
            if not packet.size:
                continue
            if (
                first
                and segment.start_pts is not None
                and (packet.pts != segment.start_pts or not packet.is_keyframe)
            ):
                raise SkipCheckFailedError("seek did not land on the segment's keyframe")
            first = False
            if segment.end_pts is not None and packet.pts == segment.end_pts:
                return
            yield packet


#: Fast mode decodes the reference frames within this many frame periods of a sampling point.
FAST_REFERENCE_WINDOW = 4


def _fast_skip(pos: float, step: int) -> str:
    """What the decoder may skip for a frame at ``pos`` (frame periods) in fast mode.

    The sampled frame itself is decoded; near it, every reference frame (a B frame it
    may refer to); elsewhere every B frame is skipped: I and P frames never refer to
    B frames in the streams encoders write, so their pixels stay the reference's.
    """
    off = pos % step
    near = min(off, step - off)
    if near < 0.5:
        return "DEFAULT"
    return "NONREF" if near <= FAST_REFERENCE_WINDOW else "BIDIR"


class NearestPicker:
    """For sampling points ``k * step``: the nearest pushed frame, never across a keyframe.

    Frames are pushed in presentation order with their position (in frame periods
    from the stream's origin) and whether a keyframe starts there. A point belongs to
    the GOP that holds it (the last keyframe at or before it) and takes that GOP's
    frame nearest to it, within half a step (ties: the earlier frame); a point with
    no such frame is skipped. Because no point looks past a keyframe, each GOP is
    resolved alone: a segment starting at a keyframe gives the frames that the whole
    video gives there.
    """

    def __init__(self, step: int) -> None:
        """Points at 0, step, 2*step, ..."""
        self._step = step
        self._half = step / 2
        self._k = 0
        self._prev: tuple[float, Any] | None = None
        self._last: float | None = None

    def start_at(self, pos: float) -> None:
        """Begin at the first point at or after ``pos`` (a segment's first keyframe)."""
        self._k = max(0, math.ceil(pos / self._step))

    def _emit(self, pos: float, item: Any) -> list[tuple[float, Any]]:
        if self._last == pos:
            return []
        self._last = pos
        return [(pos, item)]

    def _close(self, limit: float | None) -> list[tuple[float, Any]]:
        """Resolve the points before ``limit`` (None: all within reach) with the last frame."""
        out: list[tuple[float, Any]] = []
        if self._prev is None:
            return out
        pos, item = self._prev
        while True:
            target = self._k * self._step
            if limit is not None and target >= limit:
                break
            if limit is None and target > pos:
                break
            if target - pos <= self._half:
                out += self._emit(pos, item)
            self._k += 1
        self._prev = None
        return out

    def push(self, pos: float, key: bool, item: Any) -> list[tuple[float, Any]]:
        """A decoded frame; returns the (position, frame) pairs that became final."""
        out: list[tuple[float, Any]] = []
        if key:
            out += self._close(pos)
        while (target := self._k * self._step) <= pos:
            best: tuple[float, Any] | None = None
            if self._prev is not None and target - self._prev[0] <= self._half:
                best = self._prev
            if pos - target <= self._half and (best is None or pos - target < target - best[0]):
                best = (pos, item)
            if best is not None:
                out += self._emit(*best)
            self._k += 1
        self._prev = (pos, item)
        return out

    def finish(self, end: float | None = None) -> list[tuple[float, Any]]:
        """The last points: those before ``end`` (a segment's end), or all within reach."""
        return self._close(end)


@dataclass(frozen=True, eq=False)
class Segment:
    """A run of whole GOPs: packets from the keyframe at ``start_pts`` to ``end_pts``.

    ``start_pts`` None: from the start; ``end_pts`` None: to the end. ``pts``: the
    segment's packet timestamps, sorted; ``first_rank``: how many packets come before
    it (its frames' numbers in exact mode); ``origin``: the stream's start time.
    """

    start_pts: int | None
    end_pts: int | None
    pts: NDArray[np.int64]
    first_rank: int
    origin: int


@dataclass(frozen=True, eq=False)
class VideoIndex:
    """A demuxing pass over the stream: every packet's timestamp, and where it may split.

    ``cuts``: decode-order indexes of keyframes before which every packet is earlier
    and from which every packet is later in presentation order (closed GOPs), so that
    the video can be decoded in pieces from them.
    """

    pts: NDArray[np.int64]
    cuts: tuple[int, ...]
    origin: int | None
    info: VideoInfo


def index_video(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    max_frame_pixels: int = DEFAULT_MAX_FRAME_PIXELS,
) -> VideoIndex:
    """Read every packet's timestamp and keyframe flag without decoding (a cheap pass)."""
    with VideoSampler(source, max_frame_pixels=max_frame_pixels) as sampler:
        assert sampler.info is not None
        stream = sampler._stream
        order: list[int] = []
        keys: list[int] = []
        try:
            for packet in sampler._container.demux(stream):
                if not packet.size:
                    continue
                if packet.pts is None:
                    return VideoIndex(np.zeros(0, np.int64), (), None, sampler.info)
                if packet.is_keyframe:
                    keys.append(len(order))
                order.append(packet.pts)
        except _av().FFmpegError:
            pass  # a damaged tail: the index stops there, and so will the pieces
        pts = np.asarray(order, dtype=np.int64)
        origin = stream.start_time
        cuts: tuple[int, ...] = ()
        if len(pts) and origin is not None and len(np.unique(pts)) == len(pts):
            before = np.maximum.accumulate(pts)
            after = np.minimum.accumulate(pts[::-1])[::-1]
            cuts = tuple(i for i in keys if i > 0 and before[i - 1] < pts[i] and after[i] == pts[i])
        return VideoIndex(pts, cuts, origin, sampler.info)


def plan_segments(index: VideoIndex, parts: int) -> list[Segment]:
    """Split the video at clean keyframes into about ``parts`` pieces of equal length."""
    n = len(index.pts)
    if index.origin is None or n == 0:
        return []
    chosen: list[int] = []
    cuts = np.asarray(index.cuts, dtype=np.int64)
    for j in range(1, parts):
        if not len(cuts):
            break
        goal = j * n / parts
        best = int(cuts[np.argmin(np.abs(cuts - goal))])
        if best not in chosen and (not chosen or best > chosen[-1]):
            chosen.append(best)
    bounds = [0, *chosen, n]
    segments = []
    for a, b in itertools.pairwise(bounds):
        own = np.sort(index.pts[a:b])
        segments.append(
            Segment(
                start_pts=None if a == 0 else int(index.pts[a]),
                end_pts=None if b == n else int(index.pts[b]),
                pts=own,
                first_rank=a,
                origin=int(index.origin),
            )
        )
    return segments
