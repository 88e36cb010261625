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
    LINE_BLOCK,
    HashSetFormat,
    ReadContext,
    blocks_or_lines,
    first_lines,
    write_text,
)
from vigil.hashsets.model import (
    DIGEST_SIZES,
    DigestBlock,
    Entry,
    HashSetInfo,
    Rejected,
    canonical_hash,
)

_HEX_LINE = re.compile(r"^[0-9A-Fa-f]+$")

#: Bytes of whole lines read per block.
_BLOCK = LINE_BLOCK


def _clean_block(lines: list[bytes], digits: int) -> list[str] | None:
    """The block's digests, lower-case, if every line is exactly one; else None.

    One ``bytes.fromhex`` over the whole block checks every character in C: if the
    byte count comes out right, every line was ``digits`` hex digits and nothing else.
    Any doubt (CR, blank line, comment, bad digit, short last line) returns None and
    the block is read line by line, which names the line of each problem.
    """
    text = b"".join(lines)
    if len(text) != len(lines) * (digits + 1) or text.count(b"\n") != len(lines):
        return None
    try:
        body = text.decode("ascii").replace("\n", "")
        if len(bytes.fromhex(body)) * 2 != len(body):
            return None
    except (UnicodeDecodeError, ValueError):
        return None
    return text.decode("ascii").lower().split("\n")[:-1]


class _HexList(HashSetFormat):
    hash_type: ClassVar[str]

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Most lines are hex of this length (a few bad lines must not hide the format)."""
        lines = first_lines(head)
        digits = 2 * DIGEST_SIZES[cls.hash_type]
        if not lines:
            return 0
        good = sum(1 for ln in lines if len(ln) == digits and _HEX_LINE.match(ln))
        if good * 2 < len(lines):
            return 0
        score = 60 if good == len(lines) else 45
        if digits == 64 and ("pdq" in path.name.lower()) != (cls.hash_type == "pdq"):
            score -= 20
        return score

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """Stream the digests; blocks of clean lines are checked in C and yielded whole."""
        digits = 2 * DIGEST_SIZES[self.hash_type]
        with ctx.open() as handle:
            yield from blocks_or_lines(
                ctx,
                handle,
                _BLOCK,
                lambda lines: self._whole(lines, digits),
                lambda lines, number: self._slow(ctx, lines, number),
            )

    def _whole(self, lines: list[bytes], digits: int) -> DigestBlock | None:
        """The block as one DigestBlock when every line is a clean digest."""
        clean = _clean_block(lines, digits)
        return None if clean is None else DigestBlock(self.hash_type, clean)

    def _slow(
        self, ctx: ReadContext, lines: list[bytes], number: int
    ) -> Iterator[Entry | Rejected]:
        """Line by line, for a block with blank lines, comments or bad records."""
        make = _FACTORIES[self.hash_type]
        for offset, raw in enumerate(lines, start=number + 1):
            try:
                value = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield Rejected(ctx.at(offset), "not UTF-8 text")
                continue
            if not value or value.startswith("#"):
                continue
            try:
                yield make(canonical_hash(self.hash_type, value))
            except InvalidHashError as exc:
                yield Rejected(ctx.at(offset), str(exc))

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
