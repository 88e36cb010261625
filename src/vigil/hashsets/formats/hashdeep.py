"""hashdeep (and md5deep/sha1deep in hashdeep mode) audit files.

The file starts ``%%%% HASHDEEP-1.0``, then ``%%%% size,md5,sha256,filename`` names the
columns, ``##`` lines are comments (invocation, working folder), and every other
line is a row. The file name is the last column and may itself hold commas, so a row
is split on the first commas only. Hash columns Vigil does not use (tiger,
whirlpool) are kept in the entry's ``extra`` and written back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from vigil.errors import InvalidHashError
from vigil.hashsets.formats.base import (
    LINE_BLOCK,
    HashSetFormat,
    ReadContext,
    line_blocks,
    text_head,
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

MAGIC = "%%%% HASHDEEP-1.0"
_KNOWN = ("md5", "sha1", "sha256")
_OTHER = ("tiger", "whirlpool")
DEFAULT_COLUMNS = ("size", "md5", "sha1", "sha256", "filename")

#: Bytes of whole lines read per block.
_BLOCK = LINE_BLOCK


class HashdeepFormat(HashSetFormat):
    """hashdeep's CSV audit format."""

    name = "hashdeep"
    title = "hashdeep / md5deep CSV ('%%%% HASHDEEP-1.0' header)"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        return 100 if text_head(head).lstrip().startswith(MAGIC) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``).

        Once the column line is known, blocks of plain rows (every hash present, no
        comment, no CR) are matched by one regular expression and yielded as one
        DigestBlock; any other block is read row by row, which names each bad row.
        """
        columns: list[str] | None = None
        known: list[list[str]] = []  # the column line, once read (the block reader's view)
        with ctx.open() as handle:
            for number, text in self._numbered(ctx, handle, known):
                if number < 0:
                    yield text  # a DigestBlock of plain rows, or the reader's fatal Rejected
                    continue
                if text is None:
                    yield Rejected(ctx.at(number), "not UTF-8 text")
                    continue
                if not text.strip() or text.startswith("##"):
                    continue
                if text.startswith("%%%%"):
                    body = text[4:].strip()
                    if body.upper().startswith("HASHDEEP"):
                        continue
                    columns = [c.strip().lower() for c in body.split(",")]
                    known[:] = [columns]
                    ctx.attributes["hashdeep_columns"] = columns
                    bad = [c for c in columns if c not in (*DEFAULT_COLUMNS, *_OTHER)]
                    if bad or "filename" not in columns or columns[-1] != "filename":
                        yield Rejected(
                            ctx.at(number), f"unsupported hashdeep columns {columns}"[:300], True
                        )
                        return
                    continue
                if columns is None:
                    yield Rejected(
                        ctx.at(number), "row before the '%%%% size,...' column line", True
                    )
                    return
                yield self._row(ctx, number, text, columns)

    @staticmethod
    def _numbered(
        ctx: ReadContext, handle: IO[bytes], known: list[list[str]]
    ) -> Iterator[tuple[int, Any]]:
        """Numbered lines for the row-by-row reader; plain blocks go out as DigestBlocks.

        A DigestBlock is yielded as the pair ``(-1, block)`` and the line reader's fatal
        ``Rejected`` (an overlong line) as ``(-2, rejected)``; ``read`` passes them on.
        """
        number = 0
        for lines in line_blocks(ctx, handle, _BLOCK):
            if isinstance(lines, Rejected):
                yield -2, lines
                return
            block = _plain_block(lines, known[0]) if known else None
            if block is not None:
                yield -1, block  # type: ignore[misc]
            else:
                for at, raw in enumerate(lines, start=number + 1):
                    try:
                        yield at, raw.decode("utf-8").rstrip("\r\n")
                    except UnicodeDecodeError:
                        yield at, None
            number += len(lines)

    @staticmethod
    def _row(ctx: ReadContext, number: int, text: str, columns: list[str]) -> Entry | Rejected:
        fields = text.split(",", len(columns) - 1)
        if len(fields) != len(columns):
            return Rejected(ctx.at(number), f"{len(fields)} fields, expected {len(columns)}")
        entry = Entry()
        for column, value in zip(columns, fields, strict=True):
            if value == "":
                continue
            if column == "size":
                if not (value.isascii() and value.isdigit()):
                    return Rejected(ctx.at(number), f"size {value!r} is not a whole number")
                entry.media_size = int(value)
            elif column == "filename":
                entry.file_names = (value,)
            elif column in _KNOWN:
                try:
                    setattr(entry, column, canonical_hash(column, value))
                except InvalidHashError as exc:
                    return Rejected(ctx.at(number), str(exc))
            else:
                entry.extra[column] = value
        return entry

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write the entries in this format (see ``HashSetFormat.write``)."""
        columns = list(info.attributes.get("hashdeep_columns") or DEFAULT_COLUMNS)
        return write_text(out, self._lines(entries, columns, info))

    @staticmethod
    def _lines(entries: Iterable[Entry], columns: list[str], info: HashSetInfo) -> Iterator[str]:
        yield MAGIC
        yield "%%%% " + ",".join(columns)
        yield f"## Written by Vigil from hash set {info.name}"
        yield "##"
        for entry in entries:
            cells = []
            for column in columns[:-1]:
                if column == "size":
                    value = entry.media_size
                elif column in _KNOWN:
                    value = getattr(entry, column)
                else:
                    value = entry.extra.get(column)
                cells.append("" if value is None else str(value))
            for name in entry.file_names or ("",):
                yield ",".join([*cells, name])


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _plain_block(lines: list[bytes], columns: list[str]) -> DigestBlock | None:
    """The rows as one DigestBlock when every line is a plain row of ``columns``, else None."""
    hashes = [c for c in columns if c in _KNOWN]
    if not hashes or any(c in _OTHER for c in columns):
        return None
    pattern = _PATTERNS.get(tuple(columns))
    if pattern is None:
        cells = [
            r"([0-9]*)" if c == "size" else r"([^\r\n]*)" if c == "filename" else
            rf"([0-9A-Fa-f]{{{2 * DIGEST_SIZES[c]}}})"
            for c in columns
        ]  # fmt: skip
        pattern = _PATTERNS[tuple(columns)] = re.compile("^" + ",".join(cells) + "$", re.MULTILINE)
    try:
        text = b"".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        return None
    found = pattern.findall(text)
    if len(found) != len(lines) or not found:
        return None
    # Columns by itemgetter: ``zip(*found)`` makes an iterator per row (5x slower).
    cells = (
        [list(map(itemgetter(i), found)) for i in range(len(columns))]
        if len(columns) > 1
        else [found]
    )
    by_column = dict(zip(columns, cells, strict=True))
    values = {c: "\n".join(by_column[c]).lower().split("\n") for c in hashes}
    first = hashes[0]
    sizes = by_column.get("size")
    return DigestBlock(
        first,
        values[first],
        others={c: values[c] for c in hashes[1:]},
        file_names=list(by_column["filename"]),
        sizes=[int(v) if v else None for v in sizes] if sizes is not None else None,
    )
