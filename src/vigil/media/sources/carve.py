"""Carving pictures out of unallocated space: JPEG, PNG, GIF, WebP and BMP, in memory.

A carver finds a format's header and follows the format's own structure to its end:
JPEG markers to the end-of-image marker (entropy-coded data skipped as the standard
says), PNG chunks to ``IEND``, GIF blocks to the trailer, the RIFF length of a WebP,
the file size a BMP header gives. What a region ends in the middle of is kept as a
*truncated* carving (a perceptual hash often still matches it). Each carved object is
an offset and a length in the image: nothing is written anywhere; the caller reads the
bytes when it hashes them and again, by offset, when a report shows them.

Only contiguous runs are carved (a fragmented file yields its first fragment,
truncated); sizes are bounded by ``CarveLimits``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

ReadAt = Callable[[int, int], bytes]

#: File extensions of the carved kinds, as shown in carved items' names.
EXTENSIONS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp", "bmp": "bmp"}

_HEADERS = re.compile(rb"\xff\xd8\xff|\x89PNG\r\n\x1a\n|GIF8[79]a|RIFF.{4}WEBP|BM", re.DOTALL)
_SCAN = 8 << 20  # bytes searched per pass
_OVERLAP = 16  # longest header - 1


@dataclass(frozen=True)
class CarveLimits:
    """Bounds on what is carved: smaller objects are noise, larger ones are not pictures."""

    min_bytes: int = 256
    max_bytes: int = 64 << 20


@dataclass(frozen=True)
class Carved:
    """One carved object: where it starts in the image, its length, kind, and completeness."""

    offset: int
    length: int
    kind: str
    truncated: bool = False

    @property
    def name(self) -> str:
        """The carved item's name: ``offset-123456789.jpg``."""
        return f"offset-{self.offset}.{EXTENSIONS[self.kind]}"


def carve(
    read_at: ReadAt,
    start: int,
    end: int,
    limits: CarveLimits | None = None,
    stop: int | None = None,
) -> Iterator[Carved]:
    """Objects whose header lies in ``[start, stop)`` and that end by ``end``, in order.

    ``stop`` (default ``end``) lets a long run be carved in pieces: an object found
    near a piece's end is followed into the rest of its run.
    """
    limits = limits or CarveLimits()
    stop = end if stop is None else min(stop, end)
    pos = start
    while pos < stop:
        window = read_at(pos, min(_SCAN, stop - pos + _OVERLAP, end - pos))
        if not window:
            return
        skip_to = None
        for match in _HEADERS.finditer(window):
            at = pos + match.start()
            if at >= stop:
                break
            if skip_to is not None and at < skip_to:
                continue
            found = _measure(read_at, at, end, limits, match.group())
            if found is None:
                continue
            yield found
            skip_to = at + found.length
        last = pos + len(window)
        if last >= end:
            return
        pos = max(last - _OVERLAP, skip_to or 0)


def _measure(
    read_at: ReadAt, at: int, end: int, limits: CarveLimits, header: bytes
) -> Carved | None:
    limit = min(end - at, limits.max_bytes)
    if header.startswith(b"\xff\xd8"):
        kind, length, complete = "jpeg", *_jpeg(read_at, at, limit)
    elif header.startswith(b"\x89PNG"):
        kind, length, complete = "png", *_png(read_at, at, limit)
    elif header.startswith(b"GIF"):
        kind, length, complete = "gif", *_gif(read_at, at, limit)
    elif header.startswith(b"RIFF"):
        kind, length, complete = "webp", *_declared(read_at, at, limit, _webp_size)
    else:
        kind, length, complete = "bmp", *_declared(read_at, at, limit, _bmp_size)
    if length < limits.min_bytes or (kind in ("webp", "bmp") and not complete):
        return None
    return Carved(at, length, kind, truncated=not complete)


class _Cursor:
    """Sequential reads through ``read_at`` in large blocks (for structure walking)."""

    def __init__(self, read_at: ReadAt, start: int, limit: int) -> None:
        self.read_at, self.start, self.limit = read_at, start, limit
        self.base, self.buf = 0, b""

    def get(self, pos: int, n: int) -> bytes:
        """``n`` bytes at relative ``pos`` (fewer past the limit or the image's end)."""
        if pos >= self.limit:
            return b""
        n = min(n, self.limit - pos)
        if not (self.base <= pos and pos + n <= self.base + len(self.buf)):
            self.base = pos
            self.buf = self.read_at(self.start + pos, min(max(n, 1 << 20), self.limit - pos))
        return self.buf[pos - self.base : pos - self.base + n]


def _jpeg(read_at: ReadAt, at: int, limit: int) -> tuple[int, bool]:
    c = _Cursor(read_at, at, limit)
    pos = 2
    while True:  # marker segments up to the start of scan
        head = c.get(pos, 4)
        if len(head) < 4 or head[0] != 0xFF:
            return (pos if pos > 2 else 0), False
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, True
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        seg = struct.unpack(">H", head[2:4])[0]
        if seg < 2:
            return 0, False
        pos += 2 + seg
        if marker == 0xDA:
            break
    return _entropy_end(c, pos, limit)


def _entropy_end(c: _Cursor, pos: int, limit: int) -> tuple[int, bool]:
    """The end of a JPEG's scans: FF 00, fill bytes and RSTn belong to the data."""
    while pos < limit:
        if len(c.get(pos, 2)) < 2:
            break
        i = c.buf.find(b"\xff", pos - c.base)
        if i == -1:
            pos = c.base + len(c.buf)
            continue
        if i + 1 >= len(c.buf):
            pos = c.base + i
            if len(c.get(pos, 2)) < 2:
                break
            continue
        nxt, at = c.buf[i + 1], c.base + i
        if nxt == 0xD9:
            return at + 2, True
        if nxt == 0xFF:
            pos = at + 1
        elif nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            pos = at + 2
        else:  # a marker segment between scans (progressive JPEG)
            seg = c.get(at + 2, 2)
            if len(seg) < 2:
                break
            pos = at + 2 + struct.unpack(">H", seg)[0]
    return min(pos, limit), False


def _png(read_at: ReadAt, at: int, limit: int) -> tuple[int, bool]:
    c = _Cursor(read_at, at, limit)
    pos = 8
    first = True
    while True:
        head = c.get(pos, 8)
        if len(head) < 8:
            return pos, False
        length, kind = struct.unpack(">I4s", head)
        if first and kind != b"IHDR":
            return 0, False
        first = False
        if not kind.isalpha():
            return pos, False
        pos += 12 + length
        if pos > limit:  # runs past the region or the size limit: truncated
            return limit, False
        if kind == b"IEND":
            return pos, True


def _gif(read_at: ReadAt, at: int, limit: int) -> tuple[int, bool]:
    c = _Cursor(read_at, at, limit)
    lsd = c.get(6, 7)
    if len(lsd) < 7:
        return 0, False
    pos = 13 + (3 << ((lsd[4] & 7) + 1) if lsd[4] & 0x80 else 0)
    while True:
        kind = c.get(pos, 1)
        if not kind:
            return pos, False
        if kind == b"\x3b":
            return pos + 1, True
        if kind == b"\x21":
            pos += 2
        elif kind == b"\x2c":
            desc = c.get(pos + 1, 9)
            if len(desc) < 9:
                return pos, False
            pos += 10 + (3 << ((desc[8] & 7) + 1) if desc[8] & 0x80 else 0) + 1
        else:
            return pos, False
        while True:  # data sub-blocks
            n = c.get(pos, 1)
            if not n:
                return pos, False
            pos += 1 + n[0]
            if n[0] == 0:
                break


def _webp_size(head: bytes) -> int | None:
    if len(head) < 16 or (head[12:15] not in (b"VP8", b"ALP") and head[12:16] != b"ANIM"):
        return None
    return struct.unpack("<I", head[4:8])[0] + 8


def _bmp_size(head: bytes) -> int | None:
    if len(head) < 30:
        return None
    size, reserved, data_at, dib = struct.unpack("<IIII", head[2:18])
    if reserved != 0 or dib not in (12, 40, 52, 56, 64, 108, 124) or not 26 <= data_at < size:
        return None
    if dib >= 40:
        width, height, planes, bits = struct.unpack("<iiHH", head[18:30])
        if planes != 1 or bits not in (1, 4, 8, 16, 24, 32) or not 0 < width <= 1 << 16:
            return None
        if not 0 < abs(height) <= 1 << 16:
            return None
    return size


def _declared(
    read_at: ReadAt, at: int, limit: int, size_of: Callable[[bytes], int | None]
) -> tuple[int, bool]:
    size = size_of(read_at(at, 64))
    if size is None:
        return 0, False
    return (size, True) if size <= limit else (limit, False)
