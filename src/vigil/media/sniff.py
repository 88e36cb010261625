"""Tell a file's type from its first bytes, never from its name.

Why hand-written: Vigil needs one stable, versioned answer per file (the ``type``
field is stored in cases and hash sets) and it must pick the decoder that gets
the bytes. libmagic's MIME answers change with the version of its database on
each machine, and the pure-Python ``filetype`` package misses formats that
seized media holds (MPEG-TS, ASF/WMV, 3GP vs MP4, HEIF brands). The magic
numbers below are the published signatures of each format.
"""

from __future__ import annotations

from typing import Literal

#: How many leading bytes ``sniff`` wants (tar's magic sits at 257, MPEG-TS needs 3 packets).
HEAD_SIZE = 4096

OCTET_STREAM = "application/octet-stream"

MediaKind = Literal["image", "video"]

IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
    }
)

VIDEO_TYPES = frozenset(
    {
        "video/mp4",
        "video/quicktime",
        "video/3gpp",
        "video/3gpp2",
        "video/x-msvideo",
        "video/x-matroska",
        "video/webm",
        "video/x-ms-asf",
        "video/x-flv",
        "video/mp2t",
        "video/mpeg",
    }
)

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_QUICKTIME_BRANDS = {b"qt  "}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def media_kind(mime: str) -> MediaKind | None:
    """Say whether a MIME type is one that Vigil hashes as an image or a video."""
    if mime in IMAGE_TYPES:
        return "image"
    if mime in VIDEO_TYPES:
        return "video"
    return None


def sniff(head: bytes) -> str:
    """Return the MIME type of content that starts with ``head`` (pass ``HEAD_SIZE`` bytes)."""
    for check in (_image, _iso_bmff, _video, _other):
        mime = check(head)
        if mime:
            return mime
    return _text_or_binary(head)


def _image(h: bytes) -> str | None:
    if h.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if h[:4] == b"RIFF" and h[8:12] == b"WEBP":
        return "image/webp"
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if h[:2] == b"BM" and len(h) >= 18:
        dib_size = int.from_bytes(h[14:18], "little")
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return "image/bmp"
    return None


def _iso_bmff(h: bytes) -> str | None:
    """ISO base media files (MP4, MOV, 3GP, HEIF, AVIF): read the ftyp box's brands."""
    if h[4:8] != b"ftyp":
        if h[4:8] in _QUICKTIME_ATOMS and len(h) >= 8:
            return "video/quicktime"
        return None
    box_size = int.from_bytes(h[0:4], "big")
    major = h[8:12]
    compatible = {h[i : i + 4] for i in range(16, min(box_size, len(h)) - 3, 4)}
    brands = {major} | compatible
    if major in _AVIF_BRANDS:
        return "image/avif"
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major in _HEIF_BRANDS:
        if brands & _AVIF_BRANDS:
            return "image/avif"
        if brands & _HEIC_BRANDS:
            return "image/heic"
        return "image/heif"
    if major in _QUICKTIME_BRANDS:
        return "video/quicktime"
    if major.startswith((b"3g2",)):
        return "video/3gpp2"
    if major.startswith((b"3gp", b"3gg")):
        return "video/3gpp"
    if major in _AUDIO_BRANDS:
        return "audio/mp4"
    return "video/mp4"


def _video(h: bytes) -> str | None:
    if h[:4] == b"RIFF" and h[8:12] == b"AVI ":
        return "video/x-msvideo"
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in h[:64] else "video/x-matroska"
    if h[:16] == _ASF_GUID:
        return "video/x-ms-asf"
    if h[:3] == b"FLV" and len(h) > 3 and h[3] == 1:
        return "video/x-flv"
    if _is_mpeg_ts(h, 0, 188) or _is_mpeg_ts(h, 4, 192):
        return "video/mp2t"
    if h[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "video/mpeg"
    return None


def _is_mpeg_ts(h: bytes, offset: int, packet: int) -> bool:
    positions = [offset + packet * k for k in range(3)]
    return len(h) > positions[-1] and all(h[p] == 0x47 for p in positions)


_OTHER_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"BZh", "application/x-bzip2"),
    (0, b"\xfd7zXZ\x00", "application/x-xz"),
    (0, b"\x28\xb5\x2f\xfd", "application/zstd"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"SQLite format 3\x00", "application/vnd.sqlite3"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "application/ogg"),
    (0, b"fLaC", "audio/flac"),
    (257, b"ustar", "application/x-tar"),
)


def _other(h: bytes) -> str | None:
    for offset, magic, mime in _OTHER_SIGNATURES:
        if h[offset : offset + len(magic)] == magic:
            return mime
    if h[:4] == b"RIFF" and h[8:12] == b"WAVE":
        return "audio/wav"
    return None


def _text_or_binary(h: bytes) -> str:
    if not h:
        return "application/x-empty"
    if b"\x00" in h:
        return OCTET_STREAM
    try:
        h.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        if exc.start < len(h) - 3:
            return OCTET_STREAM
    return "text/plain"
