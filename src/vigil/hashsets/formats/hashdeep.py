"""hashdeep (and md5deep/sha1deep in hashdeep mode) audit files.

The file starts ``%%%% HASHDEEP-1.0``, then ``%%%% size,md5,sha256,filename`` names the
columns, ``##`` lines are comments (invocation, working folder), and every other
line is a row. The file name is the last column and may itself hold commas, so a row
is split on the first commas only. Hash columns Vigil does not use (tiger,
whirlpool) are kept in the entry's ``extra`` and written back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import InvalidHashError
from vigil.hashsets.formats.base import (
    HashSetFormat,
    ReadContext,
    iter_text_lines,
    text_head,
    write_text,
)
from vigil.hashsets.model import Entry, HashSetInfo, Rejected, canonical_hash

MAGIC = "%%%% HASHDEEP-1.0"
_KNOWN = ("md5", "sha1", "sha256")
_OTHER = ("tiger", "whirlpool")
DEFAULT_COLUMNS = ("size", "md5", "sha1", "sha256", "filename")


class HashdeepFormat(HashSetFormat):
    """hashdeep's CSV audit format."""

    name = "hashdeep"
    title = "hashdeep / md5deep CSV ('%%%% HASHDEEP-1.0' header)"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        return 100 if text_head(head).lstrip().startswith(MAGIC) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``)."""
        columns: list[str] | None = None
        with ctx.open() as handle:
            for number, text in iter_text_lines(ctx, handle):
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
                    ctx.attributes["hashdeep_columns"] = columns
                    bad = [c for c in columns if c not in (*DEFAULT_COLUMNS, *_OTHER)]
                    if bad or "filename" not in columns or columns[-1] != "filename":
                        yield Rejected(ctx.at(number), f"unsupported hashdeep columns {columns}")
                        return
                    continue
                if columns is None:
                    yield Rejected(ctx.at(number), "row before the '%%%% size,...' column line")
                    return
                yield self._row(ctx, number, text, columns)

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
                if not value.isdigit():
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
