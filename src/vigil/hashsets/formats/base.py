"""The interface every hash-set file format implements, and helpers shared by readers.

A format is an adapter (style anchor 5): a reader that turns a file into ``Entry``
records (or ``Rejected`` ones, naming the line or JSON path and the reason), a writer
that turns entries back into the file, and a ``detect`` that scores a file's first
bytes. Readers stream: they hold one record at a time, never the whole file.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
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

#: How many leading bytes detection sees.
HEAD_SIZE = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"


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

def iter_text_lines(ctx: ReadContext, handle: IO[bytes]) -> Iterator[tuple[int, str | None]]:
    """Numbered lines without their line ending; None for a line that is not UTF-8.

    A UTF-8 byte-order mark on the first line is dropped. Lines are read as bytes and
    decoded one by one, so one bad byte costs one line, not the file.
    """
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None


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


def checked(hash_type: str, value: Any) -> str:
    """``canonical_hash`` that reports a non-string value as an invalid record."""
    if not isinstance(value, str):
        raise InvalidRecordError(
            f"{hash_type.upper()} must be a string of hex digits, not {type(value).__name__}"
        )
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
