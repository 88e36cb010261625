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
"""

from __future__ import annotations

import os
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import numpy as np

from vigil.errors import CorruptMediaError, DecompressionBombError, NoFramesError, describe

#: Cap on the pixels of one video frame (width x height): 8K UHD is 33 MP.
DEFAULT_MAX_FRAME_PIXELS = 40_000_000

#: Codecs whose decoders honour "skip non-reference frames" with one frame per packet.
SKIPPING_CODECS = frozenset({"h264", "hevc"})


def _av() -> Any:
    """PyAV, imported on first use: it costs a tenth of a second that most commands never need."""
    import av

    return av


class SkipCheckFailedError(Exception):
    """The fast (non-reference skipping) pass could not prove its frame numbering."""


@dataclass(frozen=True)
class SampledFrame:
    """One kept frame: its number in decode-output order, its time, its RGB pixels."""

    number: int
    timestamp: float
    rgb: np.ndarray


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
    ) -> None:
        """Prepare to sample ``source``; nothing is opened until ``__enter__``."""
        if seconds_per_hash < 0:
            raise ValueError("seconds_per_hash must be >= 0")
        self._source = source
        self._seconds_per_hash = seconds_per_hash
        self._max_frame_pixels = max_frame_pixels
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
        rgb = frame.to_ndarray(format="rgb24", interpolation="AREA")
        timestamp = float(np.float32(number) / np.float32(float(self._rate)))
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
