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
    HashSetFormat,
    ReadContext,
    first_lines,
    iter_text_lines,
    write_text,
)
from vigil.hashsets.model import DIGEST_SIZES, Entry, HashSetInfo, Rejected, canonical_hash

_LINE = re.compile(r"^(\\?)([0-9A-Fa-f]+) ([ *])(.*)$")


def _unescape(path: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), path)


def _escape(path: str) -> tuple[str, str]:
    if "\\" in path or "\n" in path:
        return "\\", path.replace("\\", "\\\\").replace("\n", "\\n")
    return "", path


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

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``)."""
        hash_type = self.hash_type
        with ctx.open() as handle:
            for number, text in iter_text_lines(ctx, handle):
                if text is None:
                    yield Rejected(ctx.at(number), "not UTF-8 text")
                    continue
                if not text.strip() or text.startswith("#"):
                    continue
                m = _LINE.match(text)
                if not m:
                    yield Rejected(
                        ctx.at(number), f"not a '<hex>  <path>' line of {self.name}: {text[:80]!r}"
                    )
                    continue
                escaped, digest, _mode, path = m.groups()
                try:
                    value = canonical_hash(hash_type, digest)
                except InvalidHashError as exc:
                    yield Rejected(ctx.at(number), str(exc))
                    continue
                name = _unescape(path) if escaped else path
                entry = Entry(file_names=(name,) if name and name != "-" else ())
                setattr(entry, hash_type, value)
                yield entry

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
