"""The interface every hash-set file format implements, and helpers shared by readers.

A format is an adapter (style anchor 5): a reader that turns a file into ``Entry``
records (or ``Rejected`` ones, naming the line or JSON path and the reason), a writer
that turns entries back into the file, and a ``detect`` that scores a file's first
bytes. Readers stream: they hold one record at a time, never the whole file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from vigil.errors import InvalidHashError, InvalidRecordError
from vigil.hashsets.categories import Profiles, load_profiles
from vigil.hashsets.model import (
    DigestBlock,
    Entry,
    HashSetInfo,
    HashSetKind,
    Rejected,
    canonical_hash,
)
from vigil.settings import Settings
from vigil.signals import SIGNAL_TYPES

#: How many leading bytes detection sees.
HEAD_SIZE = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
#: Bytes of whole lines the line readers take at a time.
LINE_BLOCK = 1 << 22


@dataclass(frozen=True)
class Limits:
    """What a reader accepts from an untrusted file before it gives up (issue 19).

    The defaults are those of the ``VIGIL_HASHSET_MAX_*`` settings; ``import_file``
    reads them from the environment (``from_settings``).

    Hash lists come from partners who may be careless or hostile: every reader holds
    at most one block of lines, one record, one JSON nesting path, one SQLite row, so
    memory is bounded by these numbers and not by the file. The defaults are far
    above anything a real list holds (a VICS record nests 4 levels, an ``md5sum`` line
    holds one path of at most 4,096 bytes).
    """

    #: Longest line of a line or CSV format, in bytes.
    max_line_bytes: int = 1 << 20
    #: Deepest JSON nesting (arrays and objects); VICS needs about 6.
    max_json_depth: int = 64
    #: Longest JSON string, in bytes (a vPDQ of an hour of video is about 0.3 MB).
    max_json_string_bytes: int = 16 << 20
    #: Largest string or blob one SQLite cell of an RDS or .kdb file may hold, in bytes.
    max_sqlite_value_bytes: int = 1 << 20
    #: Seconds a SQLite query of an RDS or .kdb file may run without producing a row.
    max_sqlite_stall_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits the ``VIGIL_HASHSET_MAX_*`` settings give (docs/settings.md)."""
        return cls(
            max_line_bytes=settings.hashset_max_line_bytes,
            max_json_depth=settings.hashset_max_json_depth,
            max_json_string_bytes=settings.hashset_max_json_string_bytes,
            max_sqlite_value_bytes=settings.hashset_max_sqlite_value_bytes,
            max_sqlite_stall_seconds=settings.hashset_max_sqlite_stall_seconds,
        )


@dataclass
class ReadContext:
    """One reading of one file: where it is, what the reader learnt, how far it got.

    Readers fill ``category_profile``, ``version`` and ``attributes`` (for example a
    VICS case record or the NSRL release) as they learn them; the importer stores them
    with the set. ``position`` and ``total`` drive the progress bar.
    """

    path: Path
    profiles: Profiles = field(default_factory=load_profiles)
    category_profile: str | None = None
    version: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    total: int = 0
    limits: Limits = field(default_factory=Limits)
    _handle: IO[bytes] | None = None
    _position: int = 0

    @property
    def name(self) -> str:
        """The file's name as error messages show it."""
        return str(self.path)

    def open(self) -> IO[bytes]:
        """Open the file for binary reading and remember the handle for ``position``."""
        self._handle = self.path.open("rb")
        self.total = self.path.stat().st_size
        return self._handle

    @property
    def position(self) -> int:
        """Bytes (or rows) read so far."""
        if self._handle is not None and not self._handle.closed:
            try:
                return self._handle.tell()
            except (OSError, ValueError):
                return self._position
        return self._position

    @position.setter
    def position(self, value: int) -> None:
        self._position = value

    def at(self, where: str | int) -> str:
        """``file:line`` for a line number, ``file:$.json.path`` for a JSON path."""
        return f"{self.name}:{where}"


class HashSetFormat(ABC):
    """A hash-set file format: detect, read, write."""

    #: Stored, frozen name ("vics", "md5sum", ...), used by ``--format``.
    name: ClassVar[str]
    #: One line for ``--help`` and the docs.
    title: ClassVar[str]
    #: Kind of set this format implies, when it implies one (NSRL: ignore).
    default_kind: ClassVar[HashSetKind | None] = None
    #: True when the writer needs a file path rather than a stream (a database).
    writes_path: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """How sure the format is that the file is its own: 0 (no) to 100 (certain)."""

    @abstractmethod
    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """The file's entries in order; a bad record is a ``Rejected``, never an exception.

        Plain lists may yield ``DigestBlock`` runs instead of single entries (speed);
        ``model.expand`` spells them out.
        """

    @abstractmethod
    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write ``entries`` (to a stream, or a path when ``writes_path``); return how many."""

    def source_identity(self, path: Path) -> str:
        """What says "this is the same source": by default the file's SHA-256.

        A re-import of the same file is then recognised and nothing is written. A
        format whose files are huge (NSRL RDS) names its release more cheaply.
        """
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()


def line_blocks(
    ctx: ReadContext, handle: IO[bytes], block: int = LINE_BLOCK
) -> Iterator[list[bytes] | Rejected]:
    r"""Blocks of whole lines, each ending in ``\n`` (or ``\r\n``), read in bounded pieces.

    Lines end at LF, CRLF or a lone CR (old Mac text: without this, three CR-ended
    ``md5sum`` lines read as one line whose name holds the other two). A lone CR is
    turned into LF so the fast block checks still apply; a CRLF is kept. The UTF-8
    byte-order mark of the first line is dropped. A line longer than
    ``ctx.limits.max_line_bytes`` ends the reading with a fatal ``Rejected`` naming
    it: memory never holds more than a block and one line, whatever the file (a 4 GB
    file of NULs with no newline is one such line).
    """
    limit = ctx.limits.max_line_bytes
    carry = b""
    number = 0
    first = True
    while True:
        chunk = handle.read(block)
        data = carry + chunk if carry else chunk
        if first and data.startswith(UTF8_BOM):
            data = data[len(UTF8_BOM) :]
        first = False
        if not chunk:
            if data:
                yield [_lf(data) + (b"" if data.endswith((b"\n", b"\r")) else b"\n")]
            return
        cut = data.rfind(b"\n") + 1
        lines = data[:cut].splitlines(keepends=True)
        if b"\r" in data and not _crlf_only(data, cut, len(lines)):
            lines = data.splitlines(keepends=True)
            # the last line may be cut, also between the CR and LF of a CRLF
            cut = (
                len(data) - len(lines[-1]) if lines and not lines[-1].endswith(b"\n") else len(data)
            )
            if cut < len(data):
                lines.pop()
            lines = [_lf(line) for line in lines]
        carry = data[cut:]
        if len(carry) > limit:
            number += len(lines)
            if lines:
                yield lines
            yield Rejected(
                ctx.at(number + 1),
                f"a line longer than {limit:,} bytes: not a line of a hash list "
                "(the rest of the file is not read)",
                fatal=True,
            )
            return
        # no line of a piece no longer than the limit can exceed it; else one C pass
        if len(data) > limit and max(map(len, lines), default=0) > limit:
            for line in lines:
                number += 1
                if len(line) > limit:
                    yield Rejected(
                        ctx.at(number),
                        f"a line longer than {limit:,} bytes: not a line of a hash list "
                        "(the rest of the file is not read)",
                        fatal=True,
                    )
                    return
        number += len(lines)
        if lines:
            yield lines


def _crlf_only(data: bytes, cut: int, lines: int) -> bool:
    """Whether every CR before ``cut`` starts a CRLF, and none follows but a last byte.

    Then the ``lines`` that ``splitlines`` made of ``data[:cut]`` need no lone-CR
    handling (Windows text, NIST's RDS 2.x): a lone CR would have made one line more
    than there are LFs. Split in one C pass instead of a Python step per line.
    """
    tail = data.find(b"\r", cut)
    if tail not in (-1, len(data) - 1):
        return False
    return lines == data.count(b"\n", 0, cut)


def _lf(line: bytes) -> bytes:
    """A line ending in a lone CR, ending in LF instead."""
    if line.endswith(b"\r"):
        return line[:-1] + b"\n"
    return line


def blocks_or_lines(
    ctx: ReadContext,
    handle: IO[bytes],
    size: int,
    whole: Callable[[list[bytes]], DigestBlock | None],
    by_line: Callable[[list[bytes], int], Iterator[Entry | Rejected]],
) -> Iterator[Entry | DigestBlock | Rejected]:
    """A plain list's blocks of lines: each checked ``whole`` when it can be, else ``by_line``.

    ``whole`` gives the block's DigestBlock, or None when a line needs a closer look;
    ``by_line`` then reads the block a line at a time, given how many lines came
    before it (so that a bad line is named by its number). A fatal ``Rejected`` from
    ``line_blocks`` ends the reading.
    """
    number = 0
    for lines in line_blocks(ctx, handle, size):
        if isinstance(lines, Rejected):
            yield lines
            return
        block = whole(lines)
        if block is not None:
            yield block
        else:
            yield from by_line(lines, number)
        number += len(lines)


def iter_text_lines(
    ctx: ReadContext, handle: IO[bytes]
) -> Iterator[tuple[int, str | None] | Rejected]:
    """Numbered lines without their line ending; None for a line that is not UTF-8.

    Read through ``line_blocks`` (bounded, any line ending); its fatal ``Rejected`` is
    passed on. Lines are decoded one by one, so one bad byte costs one line, not the file.
    """
    number = 0
    for lines in line_blocks(ctx, handle):
        if isinstance(lines, Rejected):
            yield lines
            return
        for raw in lines:
            number += 1
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield number, None


class UnreadableTextError(InvalidRecordError):
    """The rest of a text file cannot be read: a line does not decode, or is too long.

    ``rejected`` is the fatal record naming the line; CSV readers yield it, so that
    ``--skip-invalid`` never turns "the rest of the file" into one skipped record.
    """

    def __init__(self, rejected: Rejected) -> None:
        """Carry ``rejected`` (fatal) as the error."""
        super().__init__(str(rejected))
        self.rejected = rejected


def text_lines(ctx: ReadContext, handle: IO[bytes], encoding: str = "utf-8") -> Iterator[str]:
    """The file as decoded lines with their endings, for ``csv.reader``; bounded as above.

    A line that does not decode, or an overlong one, raises ``UnreadableTextError`` naming
    its line (the line itself, not the start of the block or of the CSV record).
    """
    number = 0
    for lines in line_blocks(ctx, handle):
        if isinstance(lines, Rejected):
            raise UnreadableTextError(lines)
        try:
            text = b"".join(lines).decode(encoding)
        except UnicodeDecodeError:
            for at, raw in enumerate(lines, start=number + 1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise UnreadableTextError(
                        Rejected(
                            ctx.at(at),
                            f"not {encoding} text ({exc.reason} at byte {exc.start} of the "
                            "line); the rest of the file is not read",
                            fatal=True,
                        )
                    ) from None
            raise  # pragma: no cover - the whole did not decode, so one line does not
        number += len(lines)
        yield from io.StringIO(text, newline="")


def csv_records(
    ctx: ReadContext,
    reader: Any,
    columns: list[str],
    build: Callable[[dict[str, str]], Entry],
) -> Iterator[Entry | Rejected]:
    """The entries of a CSV body after its header, each built from its named cells.

    Blank rows are passed over; a row wider than the header, or one ``build`` refuses
    (InvalidRecordError), is a Rejected record named by its first line; text that cannot
    be read, or broken CSV, ends the file with a fatal Rejected (the rest is unreadable).
    """
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnreadableTextError as exc:
            yield exc.rejected
            return
        except csv.Error as exc:
            yield Rejected(ctx.at(reader.line_num), f"bad CSV: {exc}", True)
            return
        start, line = line + 1, reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            yield Rejected(ctx.at(start), f"{len(row)} fields, the header has {len(columns)}")
            continue
        try:
            yield build(dict(zip(columns, row, strict=False)))
        except InvalidRecordError as exc:
            yield Rejected(ctx.at(start), str(exc))


def text_head(head: bytes) -> str:
    """The first bytes as text for detection: BOM dropped, undecodable bytes replaced."""
    if head.startswith(UTF8_BOM):
        head = head[3:]
    return head.decode("utf-8", errors="replace")


def first_lines(head: bytes, limit: int = 20) -> list[str]:
    """Up to ``limit`` non-blank, non-comment complete lines of the head, for detection."""
    lines = text_head(head).splitlines()
    if len(head) >= HEAD_SIZE and lines:
        lines = lines[:-1]  # the last line may be cut in the middle
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")][:limit]


#: Digest sizes by type name, filled on first use: the signal registry's lookup cost a
#: VICS import (three ``checked`` digests per record) a tenth of its time (issue 16).
_DIGEST_BYTES: dict[str, int] = {}


def checked(hash_type: str, value: Any) -> str:
    """``canonical_hash`` that reports a non-string value as an invalid record."""
    if not isinstance(value, str):
        raise InvalidRecordError(
            f"{hash_type.upper()} must be a string of hex digits, not {type(value).__name__}"
        )
    size = _DIGEST_BYTES.get(hash_type)
    if size is None:
        cls = SIGNAL_TYPES.get(hash_type)
        if cls is not None and cls.digest_bytes is not None:
            size = _DIGEST_BYTES[hash_type] = cls.digest_bytes
    if size is not None and len(value) == 2 * size:
        try:
            if len(bytes.fromhex(value)) == size:  # well-formed hex, checked in C
                return value.lower()
        except ValueError:
            pass  # canonical_hash below names what is wrong
    try:
        return canonical_hash(hash_type, value)
    except InvalidHashError as exc:
        raise InvalidRecordError(str(exc)) from None


def write_text(out: IO[bytes] | Path, lines: Iterable[str]) -> int:
    """Write lines (each without ending) as UTF-8 with LF; return how many."""
    if isinstance(out, Path):
        with out.open("wb") as handle:
            return write_text(handle, lines)
    count = 0
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        count += 1
        if len(buffer) >= 8192:
            out.write(("\n".join(buffer) + "\n").encode("utf-8"))
            buffer.clear()
    if buffer:
        out.write(("\n".join(buffer) + "\n").encode("utf-8"))
    return count
