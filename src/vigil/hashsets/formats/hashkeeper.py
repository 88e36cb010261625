r"""HashKeeper ``.hsh`` hash sets: CSV with a fixed header, one file per row.

HashKeeper (the US NDIC's old hash-set tool) wrote comma-separated text whose first line
is ``"file_id","hashset_id","file_name","directory","hash","file_size",
"date_modified","time_modified","time_zone","comments","date_accessed",
"time_accessed"``; The Sleuth Kit (``hfind -i hk``) and Autopsy still read it. TSK's
parser wants the header to begin with those five names, the ids unquoted, and the
file name, directory and hash in double quotes; the writer keeps to that so that
``hfind`` indexes every row.

An entry is one row: the MD5, the file name (``directory\file_name`` when the row
has a directory, as TSK shows it), the size, the comment, and the other columns kept
in ``extra["HashKeeper"]`` so an export gives them back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from vigil.errors import InvalidRecordError
from vigil.hashsets.formats.base import (
    HashSetFormat,
    ReadContext,
    UnreadableTextError,
    checked,
    csv_records,
    text_head,
    text_lines,
)
from vigil.hashsets.model import Entry, HashSetInfo, Rejected

COLUMNS: tuple[str, ...] = (
    "file_id",
    "hashset_id",
    "file_name",
    "directory",
    "hash",
    "file_size",
    "date_modified",
    "time_modified",
    "time_zone",
    "comments",
    "date_accessed",
    "time_accessed",
)
HEADER = ",".join(f'"{c}"' for c in COLUMNS)
#: Columns kept verbatim in ``extra["HashKeeper"]`` (the rest map to entry fields).
KEPT = ("file_id", "hashset_id", "date_modified", "time_modified", "time_zone",
        "date_accessed", "time_accessed")  # fmt: skip
EXTRA_KEY = "HashKeeper"


def _quote(value: str) -> str:
    """A double-quoted field; an inner quote is doubled (RFC 4180; TSK never sees one)."""
    return '"' + value.replace('"', '""') + '"'


class HashKeeperFormat(HashSetFormat):
    """HashKeeper CSV (``.hsh``)."""

    name = "hashkeeper"
    title = 'HashKeeper .hsh CSV: "file_id","hashset_id","file_name","directory","hash",...'

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """95 when the first line is HashKeeper's header (as TSK's ``hk_test`` checks it)."""
        first = text_head(head).split("\n", 1)[0]
        names = [c.strip().strip('"').lower() for c in first.strip("\r\n").split(",")]
        return 95 if names[:5] == list(COLUMNS[:5]) else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the rows; a bad row is named by its line."""
        with ctx.open() as raw:
            text = text_lines(ctx, raw)
            reader = csv.reader(text, strict=True)
            try:
                header = next(reader, None)
            except UnreadableTextError as exc:
                yield exc.rejected
                return
            except csv.Error as exc:
                yield Rejected(ctx.at(1), f"unreadable HashKeeper header: {exc}", True)
                return
            columns = [c.strip().lower() for c in header or []]
            if "hash" not in columns:
                yield Rejected(ctx.at(1), 'not a HashKeeper header: no "hash" column', True)
                return
            yield from csv_records(ctx, reader, columns, _entry)

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """The header, then one row per file name of each entry holding an MD5."""
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info)
        buffer: list[str] = [HEADER]
        count = 0
        file_id = 0
        for entry in entries:
            if entry.md5 is None:
                continue
            count += 1
            kept: dict[str, Any] = entry.extra.get(EXTRA_KEY) or {}
            for name in entry.file_names or ("",):
                file_id += 1
                directory, _, base = name.rpartition("\\")
                fields = [
                    str(kept.get("file_id") or file_id),
                    str(kept.get("hashset_id") or 1),
                    _quote(base),
                    _quote(directory) if directory else "",
                    _quote(entry.md5.upper()),
                    "" if entry.media_size is None else str(entry.media_size),
                    str(kept.get("date_modified", "")),
                    str(kept.get("time_modified", "")),
                    str(kept.get("time_zone", "")),
                    _quote(entry.comments) if entry.comments else "",
                    str(kept.get("date_accessed", "")),
                    str(kept.get("time_accessed", "")),
                ]
                buffer.append(",".join(fields))
            if len(buffer) >= 8192:
                out.write(("\r\n".join(buffer) + "\r\n").encode("utf-8"))
                buffer.clear()
        if buffer:
            out.write(("\r\n".join(buffer) + "\r\n").encode("utf-8"))
        return count


def _entry(row: dict[str, str]) -> Entry:
    """One HashKeeper row as an entry."""
    digest = row.get("hash", "").strip()
    if not digest:
        raise InvalidRecordError("empty hash")
    entry = Entry(md5=checked("md5", digest))
    base = row.get("file_name", "").strip()
    directory = row.get("directory", "").strip()
    if base:
        entry.file_names = (f"{directory}\\{base}" if directory else base,)
    size = row.get("file_size", "").strip()
    if size:
        try:
            entry.media_size = int(size)
        except ValueError:
            raise InvalidRecordError(f"file_size is not a whole number: {size[:40]!r}") from None
        if entry.media_size < 0:
            raise InvalidRecordError(f"file_size is negative: {size[:40]!r}")
    comments = row.get("comments", "").strip()
    entry.comments = comments or None
    kept = {k: v.strip() for k in KEPT if (v := row.get(k, "")).strip()}
    if kept:
        entry.extra = {EXTRA_KEY: kept}
    return entry
