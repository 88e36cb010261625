"""Plain lists of hex digests, one per line: MD5, SHA-1, SHA-256 or PDQ.

The commonest exchange of all (``cut -d' ' -f1`` of anything). Blank lines and lines
starting with ``#`` are skipped. A 64-digit list cannot say whether it holds SHA-256
or PDQ: detection says SHA-256 unless the file's name mentions PDQ, and
``--format pdq-list`` settles it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, ClassVar

from vigil.errors import InvalidHashError
from vigil.hashsets.formats.base import (
    HashSetFormat,
    ReadContext,
    first_lines,
    iter_text_lines,
    write_text,
)
from vigil.hashsets.model import DIGEST_SIZES, Entry, HashSetInfo, Rejected, canonical_hash

_HEX_LINE = re.compile(r"^[0-9A-Fa-f]+$")


class _HexList(HashSetFormat):
    hash_type: ClassVar[str]

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        lines = first_lines(head)
        digits = 2 * DIGEST_SIZES[cls.hash_type]
        if not lines or not all(_HEX_LINE.match(ln) and len(ln) == digits for ln in lines):
            return 0
        if digits == 64:
            says_pdq = "pdq" in path.name.lower()
            return 60 if says_pdq == (cls.hash_type == "pdq") else 40
        return 60

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``)."""
        make = _FACTORIES[self.hash_type]
        hash_type = self.hash_type
        with ctx.open() as handle:
            for number, text in iter_text_lines(ctx, handle):
                if text is None:
                    yield Rejected(ctx.at(number), "not UTF-8 text")
                    continue
                value = text.strip()
                if not value or value.startswith("#"):
                    continue
                try:
                    yield make(canonical_hash(hash_type, value))
                except InvalidHashError as exc:
                    yield Rejected(ctx.at(number), str(exc))

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write the entries in this format (see ``HashSetFormat.write``)."""
        hash_type = self.hash_type
        return write_text(out, (v for e in entries if (v := getattr(e, hash_type)) is not None))


_FACTORIES: dict[str, Callable[[str], Entry]] = {
    "md5": lambda h: Entry(md5=h),
    "sha1": lambda h: Entry(sha1=h),
    "sha256": lambda h: Entry(sha256=h),
    "pdq": lambda h: Entry(pdq=h),
}


class Md5ListFormat(_HexList):
    """One MD5 (32 hex digits) per line."""

    name = "md5-list"
    title = "plain list of MD5 hex digests"
    hash_type = "md5"


class Sha1ListFormat(_HexList):
    """One SHA-1 (40 hex digits) per line."""

    name = "sha1-list"
    title = "plain list of SHA-1 hex digests"
    hash_type = "sha1"


class Sha256ListFormat(_HexList):
    """One SHA-256 (64 hex digits) per line."""

    name = "sha256-list"
    title = "plain list of SHA-256 hex digests"
    hash_type = "sha256"


class PdqListFormat(_HexList):
    """One PDQ hash (64 hex digits) per line."""

    name = "pdq-list"
    title = "plain list of PDQ hex hashes"
    hash_type = "pdq"
