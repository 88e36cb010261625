"""Deterministic benign benchmark corpora: camera-size and web-size JPEGs, synthetic videos.

Pictures are coloured 1/f noise (the spectrum of natural photographs) with shapes,
upscaled and given sensor-like grain, then JPEG-encoded like a camera would. Videos are
moving shapes over such backgrounds, H.264 in MP4. Everything comes from a fixed seed
and is cached under benchmarks/.corpus/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CACHE = Path(__file__).resolve().parent / ".corpus"


def _field(rng: np.random.Generator, height: int, width: int, slope: float) -> np.ndarray:
    spectrum = rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    spectrum /= np.maximum(np.hypot(fx, fy), 1.0 / max(width, height)) ** slope
    field = np.real(np.fft.ifft2(spectrum))
    return (field - field.min()) / (np.ptp(field) or 1.0)


def picture(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A benign photo-like picture of the given size."""
    base_w, base_h = max(64, width // 4), max(48, height // 4)
    slope = float(rng.uniform(0.9, 1.4))
    fields = [_field(rng, base_h, base_w, slope) for _ in range(2)]
    palette = rng.uniform(0, 255, size=(4, 3))
    t, u = fields[0][..., None], fields[1][..., None]
    rgb = (1 - t) * palette[0] + t * palette[1]
    rgb = rgb * (1 - 0.4 * u) + 0.4 * u * palette[2]
    small = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(small)
    for _ in range(int(rng.integers(5, 25))):
        x, y = int(rng.integers(0, base_w)), int(rng.integers(0, base_h))
        s = int(rng.integers(4, max(5, base_w // 5)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + s, y + s), fill=colour)
        else:
            draw.rectangle((x, y, x + s, y + s // 2), fill=colour)
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    image = image.filter(ImageFilter.UnsharpMask(radius=2, percent=80))
    grain = rng.normal(0, float(rng.uniform(2, 7)), size=(height, width, 1)).astype(np.float32)
    pixels = np.asarray(image, dtype=np.float32) + grain
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def jpegs(kind: str, count: int, width: int, height: int, seed: int) -> list[Path]:
    """``count`` JPEGs of one size, generated once and cached."""
    folder = CACHE / f"{kind}-{width}x{height}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"{kind}-{i:04d}.jpg"
        image_rng = np.random.default_rng([seed, i])
        if not path.exists():
            quality = int(image_rng.integers(80, 96))
            picture(image_rng, width, height).save(path, "JPEG", quality=quality)
        paths.append(path)
    del rng
    return paths


def videos(count: int, seconds: int, width: int, height: int, fps: int, seed: int) -> list[Path]:
    """``count`` H.264 MP4 videos of moving shapes over changing backgrounds."""
    folder = CACHE / f"video-{width}x{height}-{seconds}s-{fps}fps-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"video-{i:03d}.mp4"
        if not path.exists():
            _video(path, np.random.default_rng([seed, i]), seconds, width, height, fps)
        paths.append(path)
    return paths


def _video(path: Path, rng: np.random.Generator, seconds: int, w: int, h: int, fps: int) -> None:
    tmp = path.with_suffix(".part.mp4")
    container = av.open(str(tmp), "w")
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.options = {"crf": "21", "preset": "veryfast"}
    scenes = [np.asarray(picture(rng, w, h)) for _ in range(max(1, seconds // 5))]
    for n in range(seconds * fps):
        scene = scenes[(n // (5 * fps)) % len(scenes)]
        shift = (n % (5 * fps)) * 2
        frame = np.roll(scene, shift, axis=1).copy()
        x = int((n * 5) % (w - 40))
        y = int(h / 2 + (h / 4) * np.sin(n / 12))
        frame[max(0, y - 20) : y + 20, x : x + 40] = (240, 230, 30)
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    tmp.rename(path)
