"""The carver: each format found by its header and followed to its end, in noise."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vigil.media.sources.carve import CarveLimits, carve


def encoded(fmt: str, size: tuple[int, int] = (96, 64), **kwargs: object) -> bytes:
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def found(disk: bytes, limits: CarveLimits | None = None) -> list[tuple[int, int, str, bool]]:
    def read_at(offset: int, n: int) -> bytes:
        return disk[offset : offset + n]

    return [(c.offset, c.length, c.kind, c.truncated) for c in carve(read_at, 0, len(disk), limits)]


@pytest.mark.parametrize(
    ("fmt", "kind", "kwargs"),
    [
        ("JPEG", "jpeg", {"quality": 80}),
        ("JPEG", "jpeg", {"quality": 80, "progressive": True}),
        ("PNG", "png", {}),
        ("GIF", "gif", {}),
        ("WEBP", "webp", {"quality": 80}),
        ("BMP", "bmp", {}),
    ],
)
def test_each_format_is_carved_whole_from_noise(fmt: str, kind: str, kwargs: dict) -> None:
    picture = encoded(fmt, **kwargs)
    noise = bytes(os.urandom(5000)).replace(b"\xff\xd8\xff", b"\x00\x00\x00")
    noise = noise.replace(b"BM", b"\x00\x00").replace(b"RIFF", b"\x00\x00\x00\x00")
    disk = noise + picture + noise
    assert (len(noise), len(picture), kind, False) in found(disk)


def test_a_jpeg_with_a_thumbnail_is_one_object() -> None:
    thumb = encoded("JPEG", (32, 24))
    exif = Image.Exif()
    big = Image.radial_gradient("L").resize((200, 150)).convert("RGB")
    out = io.BytesIO()
    big.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    # an APP1 segment holding a whole JPEG (as EXIF thumbnails are)
    body = out.getvalue()
    app1 = b"\xff\xe1" + (len(thumb) + 2).to_bytes(2, "big") + thumb
    picture = body[:2] + app1 + body[2:]
    disk = b"\x00" * 1000 + picture + b"\x00" * 1000
    assert found(disk) == [(1000, len(picture), "jpeg", False)]


def test_truncated_pictures_are_kept_and_marked() -> None:
    picture = encoded("JPEG", (300, 200), quality=95)
    cut = picture[: len(picture) // 2]
    assert found(b"\x00" * 100 + cut) == [(100, len(cut), "jpeg", True)]
    png = encoded("PNG", (300, 200))
    assert found(png[:3000])[0][2:] == ("png", True)


def test_size_limits() -> None:
    picture = encoded("PNG", (300, 200))
    assert found(picture, CarveLimits(min_bytes=len(picture) + 1)) == []
    capped = found(picture, CarveLimits(max_bytes=1000))
    assert capped == [(0, 1000, "png", True)]


def test_a_long_run_carved_in_pieces_finds_the_same() -> None:
    picture = encoded("JPEG", (120, 90))
    disk = b"\x00" * 70_000 + picture + b"\x00" * 30_000

    def read_at(offset: int, n: int) -> bytes:
        return disk[offset : offset + n]

    whole = list(carve(read_at, 0, len(disk)))
    pieces = [
        c for start in range(0, len(disk), 50_000)
        for c in carve(read_at, start, len(disk), None, start + 50_000)
    ]  # fmt: skip
    assert pieces == whole and whole[0].offset == 70_000


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=20_000))
def test_noise_never_breaks_the_carver(noise: bytes) -> None:
    for item in found(noise):
        assert 0 <= item[0] < len(noise) and 0 < item[1] <= len(noise) - item[0]
