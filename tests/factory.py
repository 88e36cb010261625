"""Benign test media made on the fly: pictures in every image format, videos in every container."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def picture(width: int = 160, height: int = 120, seed: int = 0) -> Image.Image:
    """Shapes over a gradient: enough texture for a PDQ quality well above 50."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)), (x + y) % 256], axis=2
    ).astype(np.uint8)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        s = int(rng.integers(5, max(6, width // 3)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x0 + s, y0 + s), fill=colour)
    return image


def image_bytes(fmt: str, image: Image.Image | None = None, **kwargs: object) -> bytes:
    image = image or picture()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


#: container format -> (codec, file suffix, pixel format)
VIDEO_KINDS: dict[str, tuple[str, str, str]] = {
    "mp4": ("libx264", "mp4", "yuv420p"),
    "mov": ("libx264", "mov", "yuv420p"),
    "3gp": ("mpeg4", "3gp", "yuv420p"),
    "avi": ("mpeg4", "avi", "yuv420p"),
    "matroska": ("libx264", "mkv", "yuv420p"),
    "webm": ("libvpx-vp9", "webm", "yuv420p"),
    "asf": ("wmv2", "wmv", "yuv420p"),
    "flv": ("flv", "flv", "yuv420p"),
    "mpegts": ("libx264", "ts", "yuv420p"),
}


def video(
    path: Path,
    *,
    container: str = "mp4",
    seconds: float = 3,
    fps: Fraction | int = 10,
    width: int = 128,
    height: int = 96,
    seed: int = 0,
) -> Path:
    """Write a benign video: a ball moving over a picture that changes every second."""
    codec, _, pix_fmt = VIDEO_KINDS[container]
    rate = Fraction(fps)
    out = av.open(str(path), "w", format=container)
    stream = out.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if codec == "libx264":
        stream.options = {"preset": "veryfast", "threads": "1"}
    if container == "flv":
        stream.time_base = Fraction(1, 1000)
    total = round(seconds * rate)
    backgrounds = [np.asarray(picture(width, height, seed + k)) for k in range(int(seconds) + 1)]
    for n in range(total):
        frame = backgrounds[int(n / rate)].copy()
        image = Image.fromarray(frame)
        x = int((n * 7) % max(1, width - 20))
        ImageDraw.Draw(image).ellipse(
            (x, height // 3, x + 20, height // 3 + 20), fill=(255, 255, 0)
        )
        vf = av.VideoFrame.from_image(image)
        vf.pts = n
        vf.time_base = 1 / rate
        for packet in stream.encode(vf):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def transcode(src: Path, dst: Path, *, width: int, height: int, codec: str = "mpeg4") -> Path:
    """Re-encode a video at another size with another codec: a near-duplicate copy."""
    with av.open(str(src)) as inp:
        stream_in = inp.streams.video[0]
        rate = stream_in.average_rate
        with av.open(str(dst), "w") as out:
            stream = out.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for n, frame in enumerate(inp.decode(stream_in)):
                scaled = frame.reformat(width=width, height=height, format="yuv420p")
                scaled.pts, scaled.time_base = n, 1 / rate
                for packet in stream.encode(scaled):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return dst


def vfr_video(path: Path, *, frames: int = 60, width: int = 96, height: int = 64) -> Path:
    """An H.264 MP4 with irregular timestamps (gaps), like phone recordings have."""
    out = av.open(str(path), "w", format="mp4")
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.time_base = Fraction(1, 30)
    pts = 0
    for n in range(frames):
        image = picture(width, height, seed=n // 15)
        ImageDraw.Draw(image).rectangle((n % width, 5, n % width + 10, 15), fill=(0, 0, 0))
        vf = av.VideoFrame.from_image(image)
        vf.pts, vf.time_base = pts, Fraction(1, 30)
        pts += 1 if n % 7 else 4  # every seventh frame, a gap of three frame times
        for packet in stream.encode(vf):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path
