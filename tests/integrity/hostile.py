"""Hostile evidence, generated: nested zips, 42.zip-style bombs, huge images, odd tars.

Benign content only (zeros, random bytes, generated pictures); nothing is downloaded.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from pathlib import Path


def nested_zip(payload: bytes, name: str, depth: int) -> bytes:
    """``payload`` as ``name`` inside ``depth`` zips, each inside the next."""
    data, inner = payload, name
    for level in range(depth):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(inner, data)
        data, inner = buffer.getvalue(), f"level{depth - level}.zip"
    return data


def bomb_zip(layers: int = 4, copies: int = 16, leaf_bytes: int = 200_000_000 // 16**4) -> bytes:
    """A 42.zip-style bomb: ``layers`` of ``copies`` zips each; the leaves hold zeros.

    The leaves together expand to ``copies ** layers * leaf_bytes`` (200 MB by default)
    while every member stays under the 1000:1 ratio limit, as in the finding.
    """
    leaf = bytes(leaf_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(copies):
            archive.writestr(f"zeros{i}.bin", leaf)
    data = buffer.getvalue()
    for layer in range(layers - 1):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for i in range(copies):
                archive.writestr(f"layer{layer}_{i}.zip", data)
        data = buffer.getvalue()
    return data


def huge_png(side: int = 14_000) -> bytes:
    """A valid ``side`` x ``side`` greyscale PNG of zeros: small on disk, huge decoded."""
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then zeros
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def tar_with_mtime(path: Path, name: str, data: bytes, mtime: float) -> None:
    """A tar holding one member with modification time ``mtime`` (GNU base-256 if extreme)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = mtime  # type: ignore[assignment]
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(data))
