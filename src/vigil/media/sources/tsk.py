"""The Sleuth Kit's side of a disk image: its layout, and reading one file's data.

``read_layout`` finds the partitions (or a bare file system). A file is read either
through TSK (``TskStream``: deleted files as TSK recovers them, compressed and
encrypted ones) or, for an allocated plain file, straight from the image by its data
runs (``RunStream``, ``direct_runs``): pytsk3 calls back into Python once per run and
copies every block twice, which costs ten times the reading itself.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass, field
from typing import Any

from vigil.media.sources import ewf
from vigil.media.sources.base import LocatorError

#: The read buffer of an item inside an image (large reads: few calls into TSK or the image).
READ_BLOCK = 1 << 20

_FS_NAMES = {
    "FAT12": "FAT12", "FAT16": "FAT16", "FAT32": "FAT32", "EXFAT": "exFAT", "NTFS": "NTFS",
    "EXT2": "ext2", "EXT3": "ext3", "EXT4": "ext4", "HFS": "HFS+", "ISO9660": "ISO 9660",
    "YAFFS2": "YAFFS2", "UFS1": "UFS1", "UFS2": "UFS2", "APFS": "APFS", "FFS1": "UFS1",
}  # fmt: skip


def pytsk3() -> Any:
    """The pytsk3 module (ImageError naming the package when it is missing)."""
    return ewf._pytsk3()


# -- layout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    """One partition (or the whole image, for a bare file system)."""

    name: str  # "p2", or "" for a bare file system
    offset: int  # bytes from the image's start
    length: int
    description: str


@dataclass
class Layout:
    """How an image is laid out: its partition table, partitions, and unpartitioned space."""

    format: str  # raw or ewf
    size: int
    table: str  # "MBR", "GPT", other TSK names, or "none"
    volumes: list[Volume] = field(default_factory=list)
    unpartitioned: list[tuple[int, int]] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the image's own row."""
        parts = ", ".join(
            f"{v.name} {v.description} at {v.offset:,} ({v.length:,} bytes)" for v in self.volumes
        )
        return f"disk image ({self.format}, {self.size:,} bytes): partition table {self.table}" + (
            f"; {parts}" if parts else ""
        )

    def volume(self, name: str) -> Volume:
        """The volume called ``name``; LocatorError if there is none."""
        for v in self.volumes:
            if v.name == name:
                return v
        raise LocatorError(f"no partition {name!r} in this image")


_TABLES = {"DOS": "MBR", "GPT": "GPT", "MAC": "Apple", "BSD": "BSD", "SUN": "Sun"}


def read_layout(img: Any, fmt: str) -> Layout:
    """Partitions (or a bare file system) as TSK finds them."""
    tsk = pytsk3()
    size = int(img.get_size())
    try:
        vs = tsk.Volume_Info(img)
    except OSError:
        return Layout(fmt, size, "none", [Volume("", 0, size, "no partition table")])
    block = int(vs.info.block_size)
    layout = Layout(fmt, size, _enum_name("TSK_VS_TYPE_", int(vs.info.vstype), _TABLES))
    n = 0
    for part in vs:
        start, length = int(part.start) * block, int(part.len) * block
        if part.flags & tsk.TSK_VS_PART_FLAG_ALLOC:
            n += 1
            desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) else ""
            layout.volumes.append(Volume(f"p{n}", start, length, desc.strip() or "partition"))
        elif part.flags & tsk.TSK_VS_PART_FLAG_UNALLOC and length:
            layout.unpartitioned.append((start, length))
    return layout


def fs_name(fs: Any) -> str:
    """A file system's type as examiners write it (``NTFS``, ``FAT32``, ``ext4``)."""
    return _enum_name("TSK_FS_TYPE_", int(fs.info.ftype), _FS_NAMES)


def _enum_name(prefix: str, value: int, names: dict[str, str]) -> str:
    tsk = pytsk3()
    for key in dir(tsk):
        ok = key.startswith(prefix) and not key.endswith(("_DETECT", "_ENUM"))
        if ok and getattr(tsk, key) == value:
            raw = key[len(prefix) :]
            return names.get(raw, raw)
    return str(value)


_Run = tuple[
    int, int | None, int
]  # (offset in the file, offset in the image or None: zeros, length)


def direct_runs(f: Any, attr: Any, size: int, base: int, block: int) -> list[_Run] | None:
    """Where an allocated, plain attribute's bytes lie in the image, to read them directly.

    TSK reads a file through one Python callback per run and copies it twice; reading
    the runs straight from the image is several times faster. Only for what TSK would
    read as stored: a non-resident attribute, not compressed or encrypted, every run
    known (None otherwise: TSK reads it, deleted files included).
    """
    tsk = pytsk3()
    meta = f.info.meta
    if meta is None or meta.flags & tsk.TSK_FS_META_FLAG_UNALLOC or size <= 0:
        return None
    if attr is None:
        plain = [a for a in f if _is_default_data(a, size, tsk)]
        if len(plain) != 1:
            return None
        attr = plain[0]
    flags = int(attr.info.flags)
    if not flags & tsk.TSK_FS_ATTR_NONRES or flags & (tsk.TSK_FS_ATTR_COMP | tsk.TSK_FS_ATTR_ENC):
        return None
    runs: list[_Run] = []
    for run in attr:
        if run.flags & (tsk.TSK_FS_ATTR_RUN_FLAG_FILLER | tsk.TSK_FS_ATTR_RUN_FLAG_ENCRYPTED):
            return None
        start = int(run.offset) * block
        if start >= size:
            break
        length = min(int(run.len) * block, size - start)
        sparse = bool(run.flags & tsk.TSK_FS_ATTR_RUN_FLAG_SPARSE)
        runs.append((start, None if sparse else base + int(run.addr) * block, length))
    covered = 0
    for start, _, length in runs:
        if start != covered:
            return None
        covered += length
    return runs if covered == size else None


def _is_default_data(attr: Any, size: int, tsk: Any) -> bool:
    if attr.info.name or int(attr.info.size) != size:
        return False
    return int(attr.info.type) in (
        tsk.TSK_FS_ATTR_TYPE_DEFAULT,
        tsk.TSK_FS_ATTR_TYPE_NTFS_DATA,
        getattr(tsk, "TSK_FS_ATTR_TYPE_UNIX_DATA", -1),
        getattr(tsk, "TSK_FS_ATTR_TYPE_UNIX_EXTENT", -1),
        getattr(tsk, "TSK_FS_ATTR_TYPE_HFS_DATA", -1),
    )


def same_tail(tsk_stream: io.RawIOBase, runs: list[_Run], reader: ewf.Reader, size: int) -> bool:
    """Whether the runs give what TSK gives at the file's end.

    NTFS reads an uninitialised tail as zeros: a mismatch sends the file back through TSK.
    """
    n = min(size, 4096)
    tsk_stream.seek(size - n)
    want = tsk_stream.read(n)
    direct = RunStream(reader, runs, size)
    direct.seek(size - n)
    return direct.read(n) == want


class _OffsetStream(io.RawIOBase):
    """A read-only stream of ``_size`` bytes read by offset: its position and seeks."""

    _size: int
    _pos: int

    def readable(self) -> bool:
        """Always: a read-only stream."""
        return True

    def seekable(self) -> bool:
        """Always: reads are by offset."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (reads are by offset)."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos


class RunStream(_OffsetStream):
    """A file read straight from the image by its runs (``readinto`` without copies)."""

    def __init__(self, reader: ewf.Reader, runs: list[_Run], size: int) -> None:
        self._reader, self._runs, self._size, self._pos = reader, runs, size, 0
        self._starts = [start for start, _, _ in runs]

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the current position; the bytes read."""
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        start, at, length = self._runs[i]
        inner = self._pos - start
        n = min(want, length - inner)
        if at is None:
            view[:n] = bytes(n)
        else:
            n = self._reader.readinto_at(view[:n], at + inner)
            if n <= 0:
                raise OSError(f"the image ends before this file's data ({self._pos:,})")
        self._pos += n
        return n


class ImageStream(io.BufferedReader):
    """An item's stream that tells its source when it is closed (so the image can close)."""

    def __init__(self, raw: io.RawIOBase, on_close: Any) -> None:
        super().__init__(raw, READ_BLOCK)
        self._on_close = on_close

    def close(self) -> None:
        """Close, then tell the source (the image closes when nothing else holds it)."""
        if not self.closed:
            super().close()
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                on_close()


def data_attribute(f: Any, path: str) -> Any:
    """The NTFS alternate data stream ``path`` names (``a.jpg:stream``), else None (default)."""
    leaf = path.rsplit("/", 1)[-1]
    if ":" not in leaf:
        return None
    stream = leaf.rsplit(":", 1)[1].encode("utf-8", "surrogateescape")
    tsk = pytsk3()
    for attr in f:
        if attr.info.type == tsk.TSK_FS_ATTR_TYPE_NTFS_DATA and attr.info.name == stream:
            return attr
    return None


def attr_size(f: Any, attr: Any) -> int:
    """The size of the data ``attr`` holds (the file's size for the default one)."""
    if attr is not None:
        return int(attr.info.size)
    meta = f.info.meta
    return int(meta.size) if meta is not None else 0


class TskStream(_OffsetStream):
    """A file's data attribute, read through TSK (which recovers deleted content)."""

    def __init__(self, f: Any, attr: Any, size: int) -> None:
        self._f, self._size, self._pos = f, size, 0
        self._args: tuple[Any, ...] = () if attr is None else (attr.info.type, attr.info.id)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Read through TSK from the current position; the bytes read."""
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        try:
            chunk = self._f.read_random(self._pos, n, *self._args)
        except OSError as exc:
            raise OSError(f"TSK read failed at {self._pos:,}: {exc}") from exc
        if not chunk:
            raise OSError(f"TSK returned no data at {self._pos:,} of {self._size:,} bytes")
        got = len(chunk)
        buffer[:got] = chunk
        self._pos += got
        return got
