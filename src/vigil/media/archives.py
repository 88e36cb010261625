"""Read into archives and compressed files without extracting anything to disk.

Evidence often holds archives (zip, tar, tar.gz/.bz2/.xz/.zst, .gz/.bz2/.xz/.zst, 7z),
nested in each other. This module turns one archive stream into its members, each as
bytes in memory (bounded) or as a stream, with a path inside the archive, so that the
caller hashes members exactly like files. Nothing is written to disk.

Hostile archives are the norm in this field, so every limit is explicit and
configurable (``ArchiveLimits``): nesting depth, members per archive, bytes a member
may expand to, the expansion ratio of a member, and a *budget* per piece of evidence
(``Budget.for_source``): the bytes it may expand to, relative to its size with a floor,
and the CPU time its expansion may take, so that a 42.zip-style bomb (every member
under the ratio limit, nested copies multiplying the work) costs seconds, not hours.
A member that breaks a limit, an encrypted member, or a corrupt one becomes a member
with an ``error``; the rest of the archive goes on. An archive of a format Vigil does
not read (RAR) is recognised and recorded as not examined, never taken for a plain file.
Names with ``..`` or absolute paths are harmless here (nothing is extracted); they are
kept as found, with a note.

Libraries: the standard library's zipfile, tarfile, gzip, bz2 and lzma; ``zstandard``
for Zstandard (no stdlib module before Python 3.14); ``py7zr`` for 7z.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import queue
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from vigil.errors import describe
from vigil.media.sniff import HEAD_SIZE, sniff

#: Types this module opens.
ARCHIVE_TYPES = frozenset(
    {
        "application/zip",
        "application/x-tar",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/zstd",
        "application/x-7z-compressed",
    }
)
#: Archive types Vigil recognises but does not read: recorded as not examined.
UNSUPPORTED_ARCHIVE_TYPES = {"application/vnd.rar": "RAR"}
_COMPRESSORS = {
    "application/gzip": ".gz",
    "application/x-bzip2": ".bz2",
    "application/x-xz": ".xz",
    "application/zstd": ".zst",
}


@dataclass(frozen=True)
class ArchiveLimits:
    """Limits against zip bombs and hostile archives; all configurable."""

    max_depth: int = 32  # archives inside archives inside ... the evidence file
    max_members: int = 1_000_000  # members of one archive
    max_member_bytes: int = 16 << 30  # what one member may expand to
    max_ratio: float = 1000.0  # expanded / compressed, for members over ratio_floor
    ratio_floor: int = 64 << 20  # members smaller than this are never ratio-checked
    max_total_bytes: int = 1 << 40  # what one piece of evidence may expand to, nested
    #: The budget of one piece of evidence: it may expand to ``max_expansion`` times its
    #: size (all nesting levels together), and never less than ``expansion_floor`` ...
    max_expansion: float = 100.0
    expansion_floor: int = 1 << 30
    #: ... and its expansion may take ``cpu_floor_seconds`` of CPU time plus
    #: ``cpu_seconds_per_gb`` for each GB of its size (hashing and decoding included).
    cpu_floor_seconds: float = 20.0
    cpu_seconds_per_gb: float = 120.0
    #: ... and it may hold one item per ``bytes_per_item`` of its size, at least
    #: ``items_floor`` (a member's header takes more than 4 bytes in any format, even
    #: compressed in a tar.xz, so only nesting, as in 42.zip, multiplies items past this).
    bytes_per_item: int = 4
    items_floor: int = 10_000
    memory_member_bytes: int = 256 << 20  # larger members are streamed, not held in memory


class ArchiveLimitError(Exception):
    """A limit was hit while expanding (a bomb, or a limit set too low)."""


@dataclass
class Budget:
    """What one piece of evidence may still cost, shared by all its nesting levels.

    Bytes it may still expand to, and (when ``cpu_seconds`` is set) the CPU time of this
    process it may take from the budget's creation on: a bomb made of many small members
    each under every per-member limit is stopped by one of the two, and reported.
    """

    remaining: int
    cpu_seconds: float | None = None
    started: float = field(default_factory=time.process_time)
    spent_cpu: bool = False
    items: int | None = None  # members it may still hold, all nesting levels (None: any)
    items_allowed: int | None = None

    @classmethod
    def for_source(cls, limits: ArchiveLimits, size: int | None) -> Budget:
        """The budget of a piece of evidence of ``size`` bytes under ``limits``."""
        size = max(0, size or 0)
        allowed = max(limits.expansion_floor, int(limits.max_expansion * size))
        cpu = limits.cpu_floor_seconds + limits.cpu_seconds_per_gb * size / 1e9
        items = max(limits.items_floor, size // max(1, limits.bytes_per_item))
        return cls(min(allowed, limits.max_total_bytes), cpu, items=items, items_allowed=items)

    def take_item(self) -> None:
        """Count one member; raise ArchiveLimitError past the items budget."""
        if self.items is None:
            return
        self.items -= 1
        if self.items < 0:
            raise ArchiveLimitError(
                f"evidence holds more than its budget of {self.items_allowed or 0:,} members "
                "(all nesting levels together): not read (a bomb?)"
            )

    def take(self, n: int) -> None:
        """Spend ``n`` bytes; raise ArchiveLimitError past the bytes or the CPU budget."""
        self.remaining -= n
        if self.remaining < 0:
            raise ArchiveLimitError(
                "evidence expands past its budget (the total-bytes limit): not read (a bomb?)"
            )
        self.check_time()

    def check_time(self) -> None:
        """Raise ArchiveLimitError once the CPU-time budget is spent."""
        if self.cpu_seconds is None:
            return
        used = time.process_time() - self.started
        if used > self.cpu_seconds:
            self.spent_cpu = True
            raise ArchiveLimitError(
                f"evidence took more than its CPU-time budget of {self.cpu_seconds:,.0f} s "
                "to expand: not read (a bomb?)"
            )


@dataclass
class Member:
    """One member of an archive: a regular file's content, or a record of something else.

    ``data`` holds the content when it fit in memory; otherwise ``stream`` can be read
    once, before the next member is taken from the iterator.
    """

    name: str
    size: int | None = None
    mtime: float | None = None
    data: bytes | None = None
    stream: BinaryIO | None = None
    kind: str = "file"  # file, symlink, hardlink, fifo, device, other
    link_target: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def is_archive(mime: str) -> bool:
    """Whether Vigil reads into content of this type."""
    return mime in ARCHIVE_TYPES


def unsupported_archive(mime: str) -> str | None:
    """The name of an archive format Vigil recognises but cannot read (None otherwise)."""
    return UNSUPPORTED_ARCHIVE_TYPES.get(mime)


def members(
    stream: BinaryIO, mime: str, name: str, limits: ArchiveLimits, budget: Budget
) -> Iterator[Member]:
    """The members of an archive or compressed stream of type ``mime``.

    ``stream`` must be seekable for zip and 7z (pass bytes in a BytesIO, or a file);
    ``name`` is the archive's own file name, used to name the member of a lone
    compressed file (``photo.jpg.gz`` holds ``photo.jpg``).
    """
    if mime == "application/zip":
        yield from _zip_members(stream, limits, budget)
    elif mime == "application/x-tar":
        yield from _tar_members(stream, limits, budget, seekable=_seekable(stream))
    elif mime in _COMPRESSORS:
        yield from _compressed_members(stream, mime, name, limits, budget)
    elif mime == "application/x-7z-compressed":
        yield from _sevenzip_members(stream, limits, budget)
    else:
        raise ValueError(f"not an archive type: {mime}")


def _seekable(stream: BinaryIO) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def _name_notes(name: str) -> list[str]:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return ["member has an absolute path (kept as found; nothing is extracted)"]
    if ".." in parts:
        return ["member name climbs out of the archive with '..' (kept as found)"]
    return []


def _read_member(
    reader: BinaryIO,
    declared: int | None,
    packed: int | None,
    limits: ArchiveLimits,
    budget: Budget,
) -> tuple[bytes | None, BinaryIO | None]:
    """Hold a member in memory if small enough, else wrap it as a guarded stream."""
    if declared is not None and declared > limits.max_member_bytes:
        raise ArchiveLimitError(
            f"member declares {declared:,} bytes, over the member limit of "
            f"{limits.max_member_bytes:,}"
        )
    guard = _Guard(reader, packed, limits, budget)
    if declared is not None and declared > limits.memory_member_bytes:
        return None, io.BufferedReader(guard, 1 << 20)  # type: ignore[return-value]
    data = guard.read(limits.memory_member_bytes + 1)
    if len(data) > limits.memory_member_bytes:
        # Longer than declared or undeclared: stream the rest instead of holding it.
        return None, io.BufferedReader(_Prefixed(data, guard), 1 << 20)  # type: ignore[return-value]
    return data, None


def stream_head(stream: BinaryIO) -> bytes:
    """The first bytes of a member's stream without consuming them (b"" if not peekable)."""
    peek = getattr(stream, "peek", None)
    if peek is None:
        return b""
    return bytes(peek(HEAD_SIZE)[:HEAD_SIZE])


class _Guard(io.RawIOBase):
    """A reader that enforces the member, ratio and total-bytes limits as bytes come out."""

    def __init__(
        self, inner: BinaryIO, packed: int | None, limits: ArchiveLimits, budget: Budget
    ) -> None:
        self._inner, self._packed, self._limits, self._budget = inner, packed, limits, budget
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        self._count(n)
        return n

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            chunk = self._inner.read(1 << 20 if size < 0 else min(1 << 20, size - len(out)))
            if not chunk:
                break
            self._count(len(chunk))
            out += chunk
        return bytes(out)

    def _count(self, n: int) -> None:
        self._seen += n
        self._budget.take(n)
        limits = self._limits
        if self._seen > limits.max_member_bytes:
            raise ArchiveLimitError(f"member expands past {limits.max_member_bytes:,} bytes")
        if self._packed and self._seen > limits.ratio_floor:
            ratio = self._seen / self._packed
            if ratio > limits.max_ratio:
                raise ArchiveLimitError(
                    f"member expands {ratio:,.0f} times its compressed size, over the "
                    f"ratio limit of {limits.max_ratio:,.0f} (a bomb?)"
                )


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _too_many(limits: ArchiveLimits) -> Member:
    return Member(
        name="",
        kind="other",
        error=f"archive has more than {limits.max_members:,} members: the rest were not read",
    )


def _spent(budget: Budget) -> Member | None:
    """An error member ending the archive once its budget (bytes or CPU time) is spent.

    One item says so for all the members left, rather than one error each: a bomb of a
    million members makes one row, not a million.
    """
    try:
        if budget.remaining < 0:
            budget.take(0)  # raises the bytes budget's error
        budget.check_time()
        budget.take_item()
    except ArchiveLimitError as exc:
        return Member(name="", kind="other", error=f"the rest of this archive was not read: {exc}")
    return None


def _zip_members(stream: BinaryIO, limits: ArchiveLimits, budget: Budget) -> Iterator[Member]:
    with zipfile.ZipFile(stream) as archive:
        for count, info in enumerate(archive.infolist()):
            if count >= limits.max_members:
                yield _too_many(limits)
                return
            if (spent := _spent(budget)) is not None:
                yield spent
                return
            if info.is_dir():
                continue
            member = Member(
                name=info.filename,
                size=info.file_size,
                mtime=_zip_time(info),
                notes=_name_notes(info.filename),
            )
            if info.flag_bits & 0x1:
                member.error = "encrypted zip member: content not readable without the password"
                yield member
                continue
            try:
                reader = archive.open(info)
                member.data, member.stream = _read_member(
                    reader, info.file_size, info.compress_size, limits, budget
                )
            except ArchiveLimitError as exc:
                member.error = str(exc)
            except Exception as exc:  # hostile data raises anything: zlib, struct, CRC errors
                member.error = f"cannot read zip member: {describe(exc)}"
            yield member


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    import calendar

    try:
        return float(calendar.timegm((*info.date_time, 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


_TAR_KINDS: tuple[tuple[Callable[[tarfile.TarInfo], bool], str], ...] = (
    (tarfile.TarInfo.issym, "symlink"),
    (tarfile.TarInfo.islnk, "hardlink"),
    (tarfile.TarInfo.isfifo, "fifo"),
    (tarfile.TarInfo.ischr, "device"),
    (tarfile.TarInfo.isblk, "device"),
)


def _tar_members(
    stream: BinaryIO, limits: ArchiveLimits, budget: Budget, *, seekable: bool
) -> Iterator[Member]:
    mode = "r:" if seekable else "r|"
    with tarfile.open(fileobj=stream, mode=mode) as archive:  # type: ignore[call-overload]
        for count, info in enumerate(archive):
            if count >= limits.max_members:
                yield _too_many(limits)
                return
            if (spent := _spent(budget)) is not None:
                yield spent
                return
            if info.isdir():
                continue
            member = Member(
                name=info.name,
                size=info.size,
                mtime=float(info.mtime),
                notes=_name_notes(info.name),
            )
            if not info.isreg():
                member.kind = next((k for test, k in _TAR_KINDS if test(info)), "other")
                member.link_target = info.linkname or None
                yield member
                continue
            try:
                reader = archive.extractfile(info)
                assert reader is not None
                member.data, member.stream = _read_member(reader, info.size, None, limits, budget)
            except ArchiveLimitError as exc:
                member.error = str(exc)
            except Exception as exc:  # hostile data raises anything
                member.error = f"cannot read tar member: {describe(exc)}"
            yield member


def _decompressor(stream: BinaryIO, mime: str) -> BinaryIO:
    if mime == "application/gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if mime == "application/x-bzip2":
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if mime == "application/x-xz":
        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)  # type: ignore[return-value]


def _compressed_members(
    stream: BinaryIO, mime: str, name: str, limits: ArchiveLimits, budget: Budget
) -> Iterator[Member]:
    """A lone compressed file holds one member; a compressed tar holds the tar's members."""
    packed = _stream_size(stream)
    guarded = io.BufferedReader(_Guard(_decompressor(stream, mime), packed, limits, budget))
    try:
        head = guarded.peek(HEAD_SIZE)[:HEAD_SIZE]
    except ArchiveLimitError as exc:
        yield Member(name=_inner_name(name, mime), error=str(exc))
        return
    except Exception as exc:  # hostile data raises anything
        yield Member(name=_inner_name(name, mime), error=f"cannot decompress: {describe(exc)}")
        return
    if sniff(head) == "application/x-tar":
        yield from _tar_members(guarded, limits, budget, seekable=False)  # type: ignore[arg-type]
        return
    member = Member(name=_inner_name(name, mime))
    try:
        member.data, member.stream = _read_member(guarded, None, None, limits, Budget(1 << 62))  # type: ignore[arg-type]
        if member.data is not None:
            member.size = len(member.data)
    except ArchiveLimitError as exc:
        member.error = str(exc)
    except Exception as exc:  # hostile data raises anything
        member.error = f"cannot decompress: {describe(exc)}"
    yield member


def _stream_size(stream: BinaryIO) -> int | None:
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end - here
    except (OSError, AttributeError, ValueError):
        return None


def _inner_name(name: str, mime: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = _COMPRESSORS[mime]
    if base.lower().endswith(suffix):
        return base[: -len(suffix)] or base
    if base.lower().endswith(".tgz"):
        return base[:-4] + ".tar"
    return base + ".uncompressed"


def _sevenzip_members(stream: BinaryIO, limits: ArchiveLimits, budget: Budget) -> Iterator[Member]:
    """7z members, streamed one at a time from py7zr's push-style extraction.

    py7zr writes members into writer objects; a background thread runs the extraction
    and hands each finished member over a one-slot queue, so at most one member (up to
    ``memory_member_bytes``) is held at a time.
    """
    import py7zr
    from py7zr import exceptions as sz_errors

    try:
        archive = py7zr.SevenZipFile(stream, mode="r")
    except (sz_errors.PasswordRequired, sz_errors.UnsupportedCompressionMethodError) as exc:
        yield Member(name="", kind="other", error=f"encrypted or unsupported 7z archive: {exc}")
        return
    except Exception as exc:  # hostile data raises anything
        yield Member(name="", kind="other", error=f"cannot read 7z archive: {describe(exc)}")
        return
    with archive:
        infos = {i.filename: i for i in archive.list()}
        if archive.needs_password():
            for info in infos.values():
                if not info.is_directory:
                    yield Member(
                        name=info.filename,
                        size=info.uncompressed,
                        error="encrypted 7z member: content not readable without the password",
                    )
            return
        if len(infos) > limits.max_members:
            yield _too_many(limits)
            return
        handoff: queue.Queue[tuple[str, bytes | None, str | None] | None] = queue.Queue(maxsize=1)
        factory = _SevenZipWriters(handoff, limits, budget)

        def run() -> None:
            try:
                archive.extractall(factory=factory)
            except _BudgetSpentError as exc:  # decompression stopped, not only its output dropped
                handoff.put(("", None, f"the rest of this archive was not read: {exc}"))
            except Exception as exc:  # reported as one error member
                handoff.put(("", None, f"cannot read 7z archive: {exc}"))
            finally:
                handoff.put(None)

        worker = threading.Thread(target=run, name="vigil-7z", daemon=True)
        worker.start()
        while (item := handoff.get()) is not None:
            filename, data, error = item
            info = infos.get(filename)
            if info is not None and info.is_directory:
                continue
            yield Member(
                name=filename,
                size=len(data) if data is not None else (info.uncompressed if info else None),
                mtime=info.creationtime.timestamp() if info and info.creationtime else None,
                data=data,
                error=error,
                kind="file" if filename else "other",
                notes=_name_notes(filename),
            )
        worker.join()


class _SevenZipWriters:
    """py7zr writer factory whose writers hand finished members to the consumer."""

    def __init__(self, handoff: queue.Queue, limits: ArchiveLimits, budget: Budget) -> None:  # type: ignore[type-arg]
        self._handoff, self._limits, self._budget = handoff, limits, budget

    def create(self, filename: str) -> _SevenZipWriter:
        return _SevenZipWriter(filename, self._handoff, self._limits, self._budget)


class _SevenZipWriter:
    def __init__(
        self, filename: str, handoff: queue.Queue, limits: ArchiveLimits, budget: Budget
    ) -> None:  # type: ignore[type-arg]
        self._name, self._handoff, self._limits, self._budget = filename, handoff, limits, budget
        self._buffer = bytearray()
        self._error: str | None = None
        self._closed = False

    def write(self, data: bytes | bytearray) -> int:
        if self._error is None:
            try:
                self._budget.take(len(data))
            except ArchiveLimitError as exc:
                # The budget is spent: this member is an error, and the extraction stops
                # here (raising out of py7zr), so a bomb costs no more decompression.
                self._error = str(exc)
                self.close()
                raise _BudgetSpentError(str(exc)) from exc
            if len(self._buffer) + len(data) > self._limits.memory_member_bytes:
                self._error = self._error or (
                    f"7z member over {self._limits.memory_member_bytes:,} bytes: "
                    "not hashed (7z members are read in memory)"
                )
                self._buffer = bytearray()
            else:
                self._buffer += data
        return len(data)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return len(self._buffer)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        data = None if self._error else bytes(self._buffer)
        self._handoff.put((self._name, data, self._error))
        self._buffer = bytearray()


class _BudgetSpentError(Exception):
    """Raised through py7zr's extraction to stop it once the budget is spent."""
