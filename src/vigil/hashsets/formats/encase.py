r"""EnCase hash sets (``.hash``, EnCase 4-6): a binary list of MD5s under a 1152-byte header.

The layout, as The Sleuth Kit (``tsk/hashdb/encase.c``), Autopsy
(``EncaseHashSetParser.java``) and the Forensics Wiki describe it, and as ``hfind -i
encase`` reads what this module writes:

======  =====  =============================================================
offset  size   content
======  =====  =============================================================
0       8      signature ``HASH\r\n\xff\x00``
8       8      ``02 00 00 00 01 00 00 00`` (version fields; Autopsy checks them)
16      4      number of hashes, unsigned little-endian
20      1012   zero bytes
1032    80     the hash set's name, UTF-16LE, at most 39 characters, NUL-padded
1112    40     its category ("Known", "Notable", ...), UTF-16LE, at most 19 characters
1152    18*n   records: 16 bytes of MD5, then 2 zero bytes
======  =====  =============================================================

Nothing per hash but the MD5: no file names. The set's name and category are kept as
the set's attributes (``encase_name``, ``encase_category``) and written back. The
EnCase 7+ ``.hbk`` hash libraries are a different (database) format, not this one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.hashsets.formats.base import HashSetFormat, ReadContext
from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo, Rejected

SIGNATURE = b"HASH\r\n\xff\x00"
VERSION = b"\x02\x00\x00\x00\x01\x00\x00\x00"
NAME_OFFSET, NAME_SIZE = 1032, 80
CATEGORY_OFFSET, CATEGORY_SIZE = 1112, 40
HEADER_SIZE = 1152
RECORD_SIZE = 18
#: Records read per DigestBlock.
_RECORDS_PER_BLOCK = 1 << 16


def _utf16(raw: bytes) -> str:
    text = raw.decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0].strip()


def _field(text: str, size: int) -> bytes:
    """``text`` as NUL-terminated UTF-16LE in ``size`` bytes (cut to fit, never overflowing)."""
    limit = size // 2 - 1
    raw = text[:limit].encode("utf-16-le")
    while len(raw) > 2 * limit:  # characters outside the BMP take 4 bytes
        text = text[:-1]
        raw = text[:limit].encode("utf-16-le")
    return raw.ljust(size, b"\x00")


class EncaseFormat(HashSetFormat):
    """EnCase ``.hash`` binary hash set."""

    name = "encase"
    title = "EnCase .hash hash set (binary: 'HASH' header, then 18-byte MD5 records)"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """100 for the EnCase signature (with its version bytes), 80 for the signature alone."""
        if not head.startswith(SIGNATURE):
            return 0
        return 100 if head[8:16] == VERSION else 80

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """The MD5s as DigestBlocks; a short header or a cut record is named by offset."""
        with ctx.open() as handle:
            header = handle.read(HEADER_SIZE)
            if len(header) < HEADER_SIZE or not header.startswith(SIGNATURE):
                what = (
                    "no EnCase signature"
                    if not header.startswith(SIGNATURE)
                    else (f"the header is {len(header)} bytes, expected {HEADER_SIZE}")
                )
                yield Rejected(ctx.at("offset 0"), f"not an EnCase hash set: {what}", True)
                return
            (declared,) = struct.unpack_from("<I", header, 16)
            name = _utf16(header[NAME_OFFSET : NAME_OFFSET + NAME_SIZE])
            category = _utf16(header[CATEGORY_OFFSET : CATEGORY_OFFSET + CATEGORY_SIZE])
            if name:
                ctx.attributes["encase_name"] = name
            if category:
                ctx.attributes["encase_category"] = category
            ctx.version = "EnCase hash set"
            offset = HEADER_SIZE
            count = 0
            while chunk := handle.read(RECORD_SIZE * _RECORDS_PER_BLOCK):
                whole = len(chunk) - len(chunk) % RECORD_SIZE
                if whole:
                    view = memoryview(chunk)
                    digests = b"".join(view[i : i + 16] for i in range(0, whole, RECORD_SIZE)).hex()
                    yield DigestBlock(
                        "md5", [digests[i : i + 32] for i in range(0, len(digests), 32)]
                    )
                    count += whole // RECORD_SIZE
                if whole != len(chunk):
                    yield Rejected(
                        ctx.at(f"offset {offset + whole}"),
                        f"a cut record: {len(chunk) - whole} bytes left, records are {RECORD_SIZE}",
                        True,
                    )
                    return
                offset += whole
            if count != declared:
                ctx.attributes["encase_declared_count"] = declared

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Header then one record per entry holding an MD5; the count is patched in at the end.

        The count sits before the records: a file is written streaming and the count
        patched in after; a stream that cannot seek (a pipe) gets the records buffered
        (18 bytes each) rather than a wrong count.
        """
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info)
        name = str(info.attributes.get("encase_name") or info.name)
        category = str(info.attributes.get("encase_category") or "")
        header = bytearray(HEADER_SIZE)
        header[0:8] = SIGNATURE
        header[8:16] = VERSION
        header[NAME_OFFSET : NAME_OFFSET + NAME_SIZE] = _field(name, NAME_SIZE)
        header[CATEGORY_OFFSET : CATEGORY_OFFSET + CATEGORY_SIZE] = _field(category, CATEGORY_SIZE)
        seekable = _seekable(out)
        start = out.tell() if seekable else 0
        records = bytearray()
        if seekable:
            out.write(bytes(header))
        count = 0
        for entry in entries:
            if entry.md5 is not None:
                records += bytes.fromhex(entry.md5) + b"\x00\x00"
                count += 1
                if seekable and len(records) >= 1 << 20:
                    out.write(bytes(records))
                    records.clear()
        struct.pack_into("<I", header, 16, count)
        if seekable:
            out.write(bytes(records))
            end = out.tell()
            out.seek(start + 16)
            out.write(bytes(header[16:20]))
            out.seek(end)
        else:
            out.write(bytes(header))
            out.write(bytes(records))
        return count


def _seekable(out: IO[bytes]) -> bool:
    try:
        return out.seekable()
    except (AttributeError, OSError, ValueError):
        return False
