"""Types are told from content, never from the file name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factory import VIDEO_KINDS, image_bytes, video
from vigil.media.sniff import HEAD_SIZE, media_kind, sniff

IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
}

VIDEO_MIME = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
    "avi": "video/x-msvideo",
    "matroska": "video/x-matroska",
    "webm": "video/webm",
    "asf": "video/x-ms-asf",
    "flv": "video/x-flv",
    "mpegts": "video/mp2t",
}


@pytest.mark.parametrize(("fmt", "mime"), sorted(IMAGE_FORMATS.items()))
def test_images(fmt: str, mime: str) -> None:
    data = image_bytes(fmt)
    assert sniff(data[:HEAD_SIZE]) == mime
    assert media_kind(mime) == "image"


@pytest.mark.parametrize("container", sorted(VIDEO_MIME))
def test_videos(tmp_path: Path, container: str) -> None:
    path = video(tmp_path / f"clip.{VIDEO_KINDS[container][1]}", container=container, seconds=1)
    mime = sniff(path.read_bytes()[:HEAD_SIZE])
    assert mime == VIDEO_MIME[container]
    assert media_kind(mime) == "video"


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"", "application/x-empty"),
        (b"hello, world\n", "text/plain"),
        (b"PK\x03\x04" + b"\x00" * 30, "application/zip"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 10, "application/gzip"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
        (b"\x28\xb5\x2f\xfd\x00", "application/zstd"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x00" * 257 + b"ustar\x0000", "application/x-tar"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A mp42", "audio/mp4"),
        (b"\x00\x01\x02\x03\xff" * 20, "application/octet-stream"),
        (b"BM" + b"\x00" * 30, "application/octet-stream"),  # "BM" alone is not a bitmap
    ],
)
def test_other_content(head: bytes, mime: str) -> None:
    assert sniff(head) == mime


def test_heif_brands() -> None:
    def ftyp(major: bytes, *compatible: bytes) -> bytes:
        body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
        return (len(body) + 4).to_bytes(4, "big") + body

    assert sniff(ftyp(b"heic", b"mif1")) == "image/heic"
    assert sniff(ftyp(b"mif1", b"heic")) == "image/heic"
    assert sniff(ftyp(b"mif1", b"avif")) == "image/avif"
    assert sniff(ftyp(b"avif", b"mif1")) == "image/avif"
    assert sniff(ftyp(b"isom", b"avc1")) == "video/mp4"
    assert sniff(ftyp(b"qt  ")) == "video/quicktime"
    assert sniff(ftyp(b"3g2a")) == "video/3gpp2"
