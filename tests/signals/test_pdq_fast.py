"""Fast PDQ of large JPEGs: decoded to luma, within the accuracy bar of the exact hash.

Fast mode decodes a large YCbCr or grayscale JPEG DCT-scaled and to its Y plane only
(``decode_image(..., luma=True)``), and hashes that plane. The bar that made fast the
default (docs/pdq.md): within 10 bits of the exact hash for 99% of camera JPEGs, within
31 for all. Exact mode must not move: it still hashes the full RGB decode, as pdqhash.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.reference import pdqhash_hex
from vigil.media.images import decode_image, luma_scans
from vigil.records import FileHashes
from vigil.signals.content import Content, HashOptions
from vigil.signals.filehash import hash_file
from vigil.signals.pdq import bits_to_hex, dct16_plane, hamming, pdq_from_rgb

#: The fast-mode bar for one image (every generated image must meet the 99% figure).
BAR_BITS = 10


def camera_like(width: int, height: int, seed: int) -> Image.Image:
    """A benign photo-like picture: smooth colour fields, shapes, sharpening and grain."""
    rng = np.random.default_rng(seed)
    small_w, small_h = max(64, width // 8), max(48, height // 8)
    y, x = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    field = np.sin(x / small_w * rng.uniform(2, 7) + rng.uniform(0, 6)) * np.cos(
        y / small_h * rng.uniform(2, 7)
    )
    palette = rng.uniform(0, 255, size=(3, 3)).astype(np.float32)
    t = ((field + 1) / 2)[..., None]
    rgb = (1 - t) * palette[0] + t * palette[1]
    small = Image.fromarray(rgb.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(small)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, small_w)), int(rng.integers(0, small_h))
        s = int(rng.integers(4, max(5, small_w // 4)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x0 + s, y0 + s), fill=colour)
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    image = image.filter(ImageFilter.UnsharpMask(radius=2, percent=80))
    grain = rng.normal(0, 4, size=(height, width, 1)).astype(np.float32)
    pixels = np.asarray(image, dtype=np.float32) + grain
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def jpeg(image: Image.Image, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


#: name -> (mode to save in, save options): what cameras, editors and scanners write.
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "4:2:0": ("RGB", {"quality": 92, "subsampling": "4:2:0"}),
    "4:2:2": ("RGB", {"quality": 95, "subsampling": "4:2:2"}),
    "4:4:4": ("RGB", {"quality": 97, "subsampling": "4:4:4"}),
    "progressive 4:2:0": ("RGB", {"quality": 90, "subsampling": "4:2:0", "progressive": True}),
    "progressive 4:4:4": ("RGB", {"quality": 94, "subsampling": "4:4:4", "progressive": True}),
    "grayscale": ("L", {"quality": 92}),
    "CMYK": ("CMYK", {"quality": 92}),
}


@pytest.fixture(scope="module")
def camera_jpegs() -> dict[str, bytes]:
    """One 2600x2100 JPEG per variant (fast mode decodes it at 1/4, as 12 MP photos)."""
    out = {}
    for i, (name, (mode, options)) in enumerate(VARIANTS.items()):
        out[name] = jpeg(camera_like(2600, 2100, seed=40 + i).convert(mode), **options)
    return out


@pytest.mark.parametrize("name", [n for n, (mode, _) in VARIANTS.items() if mode != "CMYK"])
def test_large_ycbcr_and_gray_jpegs_decode_to_luma_in_fast_mode(
    camera_jpegs: dict[str, bytes], name: str
) -> None:
    data = camera_jpegs[name]
    fast = decode_image(data, mode="fast", luma=True)
    assert fast.is_luma and fast.scale == 4
    assert fast.pixels.shape == (525, 650)
    assert (fast.width, fast.height) == (2600, 2100)
    with pytest.raises(ValueError, match="luma only"):
        fast.rgb  # noqa: B018 - the property refuses
    # The plane is libjpeg's Y channel at that scale: what a YCbCr decode gives as Y
    # (of the scans a luma decode keeps, for a progressive JPEG).
    lean = luma_scans(data)
    assert (lean is not None) == ("progressive" in name)
    with Image.open(io.BytesIO(lean or data)) as im:
        im.draft("YCbCr" if im.mode == "RGB" else "L", (650, 525))
        ycc = np.asarray(im)
    assert np.array_equal(fast.pixels, ycc[..., 0] if ycc.ndim == 3 else ycc)


def test_cmyk_jpegs_and_other_callers_still_get_rgb(camera_jpegs: dict[str, bytes]) -> None:
    cmyk = decode_image(camera_jpegs["CMYK"], mode="fast", luma=True)
    assert not cmyk.is_luma and cmyk.scale == 4 and cmyk.rgb.shape == (525, 650, 3)
    plain = decode_image(camera_jpegs["4:2:0"], mode="fast")  # luma not asked for
    assert not plain.is_luma and plain.rgb.shape == (525, 650, 3)
    exact = decode_image(camera_jpegs["4:2:0"], mode="exact", luma=True)
    assert not exact.is_luma and exact.scale == 1 and exact.rgb.shape == (2100, 2600, 3)


def test_small_jpegs_stay_rgb_so_their_fast_hash_is_exact() -> None:
    data = jpeg(camera_like(640, 480, seed=3), quality=90)
    fast, exact = decode_image(data, mode="fast", luma=True), decode_image(data)
    assert not fast.is_luma and fast.scale == 1
    assert np.array_equal(fast.rgb, exact.rgb)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_fast_hash_is_within_the_bar_and_exact_hash_is_the_reference(
    camera_jpegs: dict[str, bytes], name: str, tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(camera_jpegs[name])
    fast = hash_file(path, HashOptions(mode="fast"))
    exact = hash_file(path, HashOptions(mode="exact"))
    assert fast.error is None and exact.error is None
    assert fast.pdq_scale == 4 and exact.pdq_scale == 1
    assert fast.pdq is not None and exact.pdq is not None
    assert hamming(fast.pdq, exact.pdq) <= BAR_BITS
    assert abs((fast.pdq_quality or 0) - (exact.pdq_quality or 0)) <= 10
    # Exact mode is unchanged: the full RGB decode, hashed as pdqhash hashes it.
    rgb = decode_image(camera_jpegs[name]).rgb
    assert (exact.pdq, exact.pdq_quality) == pdqhash_hex(rgb)
    assert fast.signals["md5"] == exact.signals["md5"]


def test_fast_hash_of_the_luma_plane_is_close_to_the_fast_rgb_hash(
    camera_jpegs: dict[str, bytes],
) -> None:
    for name in ("4:2:0", "4:4:4", "progressive 4:2:0"):
        data = camera_jpegs[name]
        luma = decode_image(data, mode="fast", luma=True).pixels
        result = dct16_plane(luma)
        assert result is not None
        from_rgb = pdq_from_rgb(decode_image(data, mode="fast").rgb)
        assert hamming(bits_to_hex(result[0]), from_rgb.hex) <= 4, name


def test_dihedral_hashes_come_from_the_luma_plane_too(
    camera_jpegs: dict[str, bytes], tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(camera_jpegs["4:2:2"])
    record = hash_file(path, HashOptions(mode="fast", dihedral=True))
    assert record.pdq_dihedral is not None
    assert record.pdq_dihedral["original"] == record.pdq
    rotated = tmp_path / "rotated.jpg"
    with Image.open(path) as im:
        rotated.write_bytes(jpeg(im.transpose(Image.Transpose.ROTATE_90), quality=95))
    turned = hash_file(rotated, HashOptions(mode="fast"))
    assert turned.pdq is not None
    assert min(hamming(turned.pdq, h) for h in record.pdq_dihedral.values()) <= BAR_BITS


def test_a_caller_needing_rgb_after_pdq_gets_rgb_and_one_description(
    camera_jpegs: dict[str, bytes],
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    with Image.open(io.BytesIO(camera_jpegs["4:2:0"])) as im:
        data = jpeg(im, quality=90, exif=exif.tobytes())
    record = FileHashes(path="photo.jpg", type="image/jpeg", size=len(data))
    content = Content(record, HashOptions(mode="fast"), data=data)
    luma = content.image(luma=True)
    assert luma.is_luma
    assert content.image(luma=True) is luma  # decoded once for every luma caller
    rgb = content.image()
    assert not rgb.is_luma and rgb.rgb.shape == (525, 650, 3)
    assert content.image(luma=True) is rgb  # RGB serves luma callers as well
    assert record.exif_orientation == 6 and record.pdq_scale == 4
    assert sum("EXIF orientation 6" in note for note in record.notes) == 1
