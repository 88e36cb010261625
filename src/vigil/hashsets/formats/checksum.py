r"""GNU coreutils ``md5sum``/``sha1sum``/``sha256sum`` output (and ``md5deep`` lines).

A line is ``<hex>  <path>`` (text mode) or ``<hex> *<path>`` (binary mode). A path
holding a newline or backslash is written by coreutils with a leading backslash and
escapes (``\\n``, ``\\\\``); both directions handle that. The path becomes the
entry's file name (``-``, standard input, means none); an entry with several file
names is written as one line per name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
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

_LINE = re.compile(r"^(\\?)([0-9A-Fa-f]+) ([ *])(.*)$")

#: Bytes of whole lines read per block.
_BLOCK = LINE_BLOCK


def _unescape(path: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), path)


def _escape(path: str) -> tuple[str, str]:
    if "\\" in path or "\n" in path:
        return "\\", path.replace("\\", "\\\\").replace("\n", "\\n")
    return "", path


def _plain_block(lines: list[bytes], digits: int, hash_type: str) -> DigestBlock | None:
    """The block as one DigestBlock if every line is a plain ``<hex>  <name>``; else None.

    Checked by slicing, not by a regular expression per line: the hex of every line is
    joined and decoded by one ``bytes.fromhex`` (which also fails on a comment, an
    escaped name's backslash or a short line), the separators are collected in a set.
    """
    try:
        text = b"".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        return None
    rows = text.split("\n")
    if rows[-1] == "":
        rows.pop()
    if len(rows) != len(lines):
        return None
    hexes = [r[:digits] for r in rows]
    joined = "".join(hexes)
    try:
        if len(joined) != digits * len(rows):
            return None
        raw = bytes.fromhex(joined)
        if len(raw) * 2 != len(joined):
            return None
    except ValueError:
        return None
    if not {r[digits : digits + 2] for r in rows} <= _SEPARATORS:
        return None
    start = digits + 2
    names = [r[start:] for r in rows]
    if "-" in names:  # standard input: no name
        names = ["" if n == "-" else n for n in names]
    # coreutils writes lower-case hex: then the digests are canonical as they are
    values = hexes if joined.islower() else "\n".join(hexes).lower().split("\n")
    return DigestBlock(hash_type, values, file_names=names, raw={hash_type: raw})


#: What separates the digest from the name: text mode, binary mode.
_SEPARATORS = frozenset({"  ", " *"})


class _Checksum(HashSetFormat):
    hash_type: ClassVar[str]

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Most lines are ``<hex of this length>  <path>``."""
        lines = first_lines(head)
        digits = 2 * DIGEST_SIZES[cls.hash_type]
        if not lines:
            return 0
        good = 0
        for line in lines:
            m = _LINE.match(line)
            good += bool(m and len(m.group(2)) == digits)
        if good * 2 < len(lines):
            return 0
        return 70 if good == len(lines) else 50

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """Stream the file's entries; blocks of plain lines become DigestBlocks.

        A block of lines that are all ``<hex>  <name>`` is checked as a whole (see
        ``_plain_block``) and yielded whole (issue 16: ten times faster than a line at a
        time); a block with anything else (comments, escaped names, CR, bad lines) is
        read line by line, which names each bad line.
        """
        hash_type = self.hash_type
        digits = 2 * DIGEST_SIZES[hash_type]
        with ctx.open() as handle:
            yield from blocks_or_lines(
                ctx,
                handle,
                _BLOCK,
                lambda lines: _plain_block(lines, digits, hash_type),
                lambda lines, number: self._slow(ctx, lines, number),
            )

    def _slow(
        self, ctx: ReadContext, lines: list[bytes], number: int
    ) -> Iterator[Entry | Rejected]:
        """Line by line, naming each bad line."""
        hash_type = self.hash_type
        for at, raw in enumerate(lines, start=number + 1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield Rejected(ctx.at(at), "not UTF-8 text")
                continue
            if not text.strip() or text.startswith("#"):
                continue
            m = _LINE.match(text)
            if not m:
                yield Rejected(
                    ctx.at(at), f"not a '<hex>  <path>' line of {self.name}: {text[:80]!r}"
                )
                continue
            escaped, digest, _mode, path = m.groups()
            try:
                value = canonical_hash(hash_type, digest)
            except InvalidHashError as exc:
                yield Rejected(ctx.at(at), str(exc))
                continue
            name = _unescape(path) if escaped else path
            yield Entry(
                signals={hash_type: value}, file_names=(name,) if name and name != "-" else ()
            )

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write the entries in this format (see ``HashSetFormat.write``)."""
        return write_text(out, self._lines(entries))

    def _lines(self, entries: Iterable[Entry]) -> Iterator[str]:
        for entry in entries:
            value = getattr(entry, self.hash_type)
            if value is None:
                continue
            for name in entry.file_names or ("-",):
                prefix, path = _escape(name)
                yield f"{prefix}{value}  {path}"


class Md5sumFormat(_Checksum):
    """``md5sum`` output."""

    name = "md5sum"
    title = "md5sum / md5deep output: '<md5>  <path>'"
    hash_type = "md5"


class Sha1sumFormat(_Checksum):
    """``sha1sum`` output."""

    name = "sha1sum"
    title = "sha1sum output: '<sha1>  <path>'"
    hash_type = "sha1"


class Sha256sumFormat(_Checksum):
    """``sha256sum`` output."""

    name = "sha256sum"
    title = "sha256sum output: '<sha256>  <path>'"
    hash_type = "sha256"
