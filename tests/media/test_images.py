"""Decoding images: formats, limits, corrupt and hostile files, EXIF, fast mode."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.factory import image_bytes, picture
from vigil.errors import CorruptMediaError, DecompressionBombError
from vigil.media import images
from vigil.media.images import decode_image, luma_scans
from vigil.signals.pdq import bits_to_hex, dct16_plane, hamming, pdq_from_rgb


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


# -- fast mode, luma decodes: progressive scans, MPO ----------------------------------------


def _scan_count(data: bytes) -> int:
    """Start-of-scan markers (entropy-coded data never holds an unstuffed 0xFF 0xDA)."""
    return data.count(b"\xff\xda")


def _luma_plane(data: bytes) -> np.ndarray:
    image = decode_image(data, mode="fast", luma=True)
    assert image.is_luma
    return image.pixels


@pytest.mark.parametrize(
    ("mode", "subsampling", "scans", "kept"),
    [("RGB", "4:4:4", 10, 5), ("RGB", "4:2:0", 10, 5), ("L", "4:2:0", 6, 5)],
)
def test_luma_scans_drop_chroma_ac_and_the_last_luma_refinement(
    mode: str, subsampling: str, scans: int, kept: int
) -> None:
    original = picture(2400, 1800, seed=8).convert(mode)
    data = image_bytes("JPEG", original, quality=93, subsampling=subsampling, progressive=True)
    lean = luma_scans(data)
    assert lean is not None and len(lean) < len(data)
    assert (_scan_count(data), _scan_count(lean)) == (scans, kept)
    # Fast mode decodes the lean stream: the same picture without its finest bits.
    fast = decode_image(data, mode="fast", luma=True)
    assert fast.is_luma and fast.scale == 2
    lean_plane, whole_plane = _draft_luma(lean), _draft_luma(data)
    assert np.array_equal(fast.pixels, lean_plane)
    assert np.abs(lean_plane.astype(int) - whole_plane.astype(int)).mean() < 1.0
    assert hamming(_plane_hash(whole_plane), _plane_hash(lean_plane)) <= 2


def _draft_luma(data: bytes) -> np.ndarray:
    """Pillow's own DCT-scaled luma decode of ``data`` (as fast mode asks for it)."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("L", (512, 512))
        return np.asarray(im)


def _plane_hash(plane: np.ndarray) -> str:
    result = dct16_plane(plane)
    assert result is not None
    return bits_to_hex(result[0])


def test_luma_scans_leave_other_jpegs_alone() -> None:
    base = picture(1200, 900, seed=9)
    assert luma_scans(image_bytes("JPEG", base, quality=90)) is None  # baseline
    cmyk = image_bytes("JPEG", base.convert("CMYK"), quality=90, progressive=True)
    assert luma_scans(cmyk) is None
    rgb_coded = image_bytes("JPEG", base, quality=90, progressive=True, keep_rgb=True)
    assert luma_scans(rgb_coded) is None  # Adobe transform 0: G and B make luma too
    assert luma_scans(b"") is None and luma_scans(b"\xff\xd8\xff") is None
    assert luma_scans(image_bytes("PNG", base)) is None


def test_luma_scans_walk_segments_by_their_length() -> None:
    comment = b"\xff\xda\x00\x08\x01\x01\x00\x01\x3f\x10\xff\xd9"  # marker-like bytes
    data = image_bytes(
        "JPEG", picture(1200, 900, seed=10), quality=90, progressive=True, comment=comment
    )
    lean = luma_scans(data)
    assert lean is not None and comment in lean
    assert _scan_count(lean) == _scan_count(data) - 5


@pytest.mark.parametrize("keep", [0.5, 0.97])
def test_truncated_progressive_jpeg_is_still_reported_in_fast_mode(keep: float) -> None:
    data = image_bytes("JPEG", picture(1200, 900, seed=11), quality=92, progressive=True)
    with pytest.raises(CorruptMediaError, match="truncated"):
        decode_image(data[: int(len(data) * keep)], mode="fast", luma=True)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_luma_scans_survive_damaged_files(cuts: list[tuple[float, int]]) -> None:
    data = bytearray(_PROGRESSIVE)
    for where, value in cuts:
        data[int(where * (len(data) - 1))] = value
    lean = luma_scans(bytes(data))
    assert lean is None or len(lean) < len(data)
    # A damaged file is a record's error, never another exception.
    with contextlib.suppress(CorruptMediaError, DecompressionBombError):
        decode_image(bytes(data), mode="fast", luma=True)


_PROGRESSIVE = image_bytes("JPEG", picture(1100, 1040, seed=12), quality=85, progressive=True)


def test_mpo_first_image_is_scaled_in_fast_mode() -> None:
    first, second = picture(2400, 1800, seed=13), picture(600, 450, seed=14)
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], quality=92)
    exact = decode_image(buffer.getvalue())
    fast = decode_image(buffer.getvalue(), mode="fast", luma=True)
    assert (exact.format, exact.frames, exact.scale) == ("MPO", 2, 1)
    assert (fast.format, fast.frames, fast.scale, fast.is_luma) == ("MPO", 2, 2, True)
    assert hamming(pdq_from_rgb(exact.rgb).hex, _plane_hash(fast.pixels)) <= 10


def test_luma_scans_search_markers_window_by_window(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = luma_scans(_PROGRESSIVE)
    assert whole is not None
    monkeypatch.setattr(images, "_MARKER_WINDOW", 997)  # markers straddle the windows
    assert luma_scans(_PROGRESSIVE) == whole
    monkeypatch.setattr(images, "MAX_LEAN_BYTES", len(_PROGRESSIVE) - 1)
    assert luma_scans(_PROGRESSIVE) is None  # too large to copy: decoded whole
    assert decode_image(_PROGRESSIVE, mode="fast", luma=True).is_luma


def test_a_lean_stream_that_fails_falls_back_to_the_whole_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = image_bytes("JPEG", picture(2400, 1800, seed=15), quality=90, progressive=True)
    monkeypatch.setattr(images, "luma_scans", lambda _: data[: len(data) // 3])  # truncated
    fast = decode_image(data, mode="fast", luma=True)
    assert fast.is_luma and np.array_equal(fast.pixels, _draft_luma(data))
