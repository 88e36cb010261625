"""Decoding images: formats, limits, corrupt and hostile files, EXIF, fast mode."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.factory import image_bytes, picture
from vigil.errors import CorruptMediaError, DecompressionBombError
from vigil.media.images import decode_image
from vigil.signals.pdq import hamming, pdq_from_rgb


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares a size; its data is tiny (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF marker is patched to declare another size."""
    data = bytearray(image_bytes("JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF"])
def test_every_image_format_decodes(fmt: str) -> None:
    image = decode_image(image_bytes(fmt))
    assert image.rgb.shape == (120, 160, 3)
    assert image.rgb.dtype == np.uint8
    assert pdq_from_rgb(image.rgb).quality >= 50


def test_lossless_formats_give_the_same_hash() -> None:
    reference = pdq_from_rgb(decode_image(image_bytes("PNG")).rgb).hex
    for fmt in ("BMP", "TIFF"):
        assert pdq_from_rgb(decode_image(image_bytes(fmt)).rgb).hex == reference


@pytest.mark.parametrize("data", [png_declaring(100_000, 100_000), jpeg_declaring(60_000, 60_000)])
def test_decompression_bomb_is_refused_before_decoding(data: bytes) -> None:
    with pytest.raises(DecompressionBombError, match=r"over the limit of 200,000,000"):
        decode_image(data)


def test_pixel_limit_is_configurable() -> None:
    with pytest.raises(DecompressionBombError, match=r"160x120 = 19,200 pixels"):
        decode_image(image_bytes("PNG"), max_pixels=10_000)
    assert decode_image(image_bytes("PNG"), max_pixels=19_200).width == 160


def test_truncated_jpeg_names_the_problem() -> None:
    data = image_bytes("JPEG", picture(640, 480))
    with pytest.raises(
        CorruptMediaError, match=r"cannot decode JPEG image: image file is truncated"
    ):
        decode_image(data[: len(data) // 2])


def test_garbage_after_a_magic_number() -> None:
    with pytest.raises(CorruptMediaError, match=r"cannot read image header"):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 10)


def test_multi_frame_gif_hashes_the_first_frame() -> None:
    first, second = picture(seed=1), picture(seed=2)
    import io

    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second])
    image = decode_image(buffer.getvalue())
    assert image.frames == 2
    alone = decode_image(image_bytes("GIF", first))
    assert np.array_equal(image.rgb, alone.rgb)


def test_exif_orientation_is_reported_and_ignored() -> None:
    plain = image_bytes("JPEG", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated_tag = image_bytes("JPEG", exif=exif, quality=95)
    a, b = decode_image(plain), decode_image(rotated_tag)
    assert (a.exif_orientation, b.exif_orientation) == (None, 6)
    assert np.array_equal(a.rgb, b.rgb)  # the reference hashes stored pixels, as we do


def test_fast_mode_is_exact_below_twice_the_minimum_side() -> None:
    data = image_bytes("JPEG", picture(640, 480, seed=5), quality=90)
    exact, fast = decode_image(data), decode_image(data, mode="fast")
    assert fast.scale == 1
    assert np.array_equal(exact.rgb, fast.rgb)


def test_fast_mode_reduces_large_jpegs_and_stays_close() -> None:
    data = image_bytes("JPEG", picture(2400, 1800, seed=6), quality=90)
    exact, fast = decode_image(data), decode_image(data, mode="fast")
    assert fast.scale == 2
    assert fast.rgb.shape == (900, 1200, 3)
    assert (fast.width, fast.height) == (2400, 1800)
    assert hamming(pdq_from_rgb(exact.rgb).hex, pdq_from_rgb(fast.rgb).hex) <= 10


def test_fast_mode_leaves_other_formats_alone() -> None:
    data = image_bytes("PNG", picture(2400, 1800, seed=6))
    assert decode_image(data, mode="fast").scale == 1
