"""Interpol ICSE (International Child Sexual Exploitation database) CSV exports.

An ICSE export is semicolon-separated text with the header
``MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;
Series name;Number of submissions;File Available;Media Type;Baseline`` (IPED's
``HashDBTool`` reads exactly this; columns are matched by name, case-insensitively, so
a reordered or shortened export still reads). Flags are ``true``/``false``, ``yes``/
``no``, ``y``/``n``, ``t``/``f`` or ``1``/``0`` in any case; an empty cell means "not
said".

Mapping to Vigil's entry: MD5, SHA-1, PhotoDNA (opaque text, kept verbatim and written
back: Vigil does not compute PhotoDNA), ``is_distributed``, ``victim_identified`` and
``series`` are entry fields; the other columns go in ``extra`` under IPED's names
(``OffenderIdentified`` as in VICS, ``ImageID``, ``NumSubmissions``, ``FileAvailable``,
``MediaType``, ``Baseline``), so that ``hashset show``, match results and a VICS export
carry them. ICSE does not grade with a category, so entries are uncategorised.
"""

from __future__ import annotations

import csv
import io
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

#: The columns of an ICSE export, in its order.
COLUMNS: tuple[str, ...] = (
    "MD5",
    "SHA1",
    "PhotoDNA",
    "Image ID",
    "Is distributed",
    "Victim identified",
    "Offender identified",
    "Series name",
    "Number of submissions",
    "File Available",
    "Media Type",
    "Baseline",
)
DELIMITER = ";"
#: ICSE column -> key in ``Entry.extra`` (IPED's names; OffenderIdentified as VICS spells it).
EXTRA_KEYS: dict[str, str] = {
    "image id": "ImageID",
    "offender identified": "OffenderIdentified",
    "number of submissions": "NumSubmissions",
    "file available": "FileAvailable",
    "media type": "MediaType",
    "baseline": "Baseline",
}
_FLAG_COLUMNS = frozenset(
    {"is distributed", "victim identified", "offender identified", "file available", "baseline"}
)
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def _key(column: str) -> str:
    return " ".join(column.split()).lower()


def parse_flag(value: str) -> bool | None:
    """An ICSE flag cell as a bool (None when empty); InvalidRecordError otherwise."""
    text = value.strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidRecordError(f"not a yes/no flag: {value.strip()[:40]!r}")


def _flag_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class IcseFormat(HashSetFormat):
    """Interpol ICSE semicolon-separated export."""

    name = "icse"
    title = "Interpol ICSE export: 'MD5;SHA1;PhotoDNA;Image ID;Is distributed;...' (semicolons)"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """95 when the first line is an ICSE header (MD5, SHA1 and ICSE's own columns)."""
        first = text_head(head).split("\n", 1)[0].strip("\r\n")
        names = {_key(c) for c in first.split(DELIMITER)}
        if "md5" not in names and "sha1" not in names:
            return 0
        own = {"image id", "is distributed", "victim identified", "series name"}
        return 95 if len(own & names) >= 2 else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the rows; a bad row is named by its line."""
        with ctx.open() as raw:
            text = text_lines(ctx, raw)
            reader = csv.reader(text, delimiter=DELIMITER, strict=True)
            try:
                header = next(reader, None)
            except UnreadableTextError as exc:
                yield exc.rejected
                return
            except csv.Error as exc:
                yield Rejected(ctx.at(1), f"unreadable ICSE header: {exc}", True)
                return
            if header is None:
                yield Rejected(ctx.at(1), "empty file: no ICSE header", True)
                return
            columns = [_key(c) for c in header]
            if "md5" not in columns and "sha1" not in columns:
                yield Rejected(
                    ctx.at(1), "not an ICSE header: it has neither an MD5 nor a SHA1 column", True
                )
                return
            yield from csv_records(ctx, reader, columns, _entry)

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write ICSE's header and one row per entry holding an MD5 or a SHA-1."""
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        writer = csv.writer(text, delimiter=DELIMITER, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        count = 0
        for entry in entries:
            if entry.md5 is None and entry.sha1 is None:
                continue
            extra = entry.extra
            writer.writerow(
                [
                    (entry.md5 or "").upper(),
                    (entry.sha1 or "").upper(),
                    entry.photodna or "",
                    _flag_text(extra.get("ImageID")),
                    _flag_text(entry.is_distributed),
                    _flag_text(entry.victim_identified),
                    _flag_text(extra.get("OffenderIdentified")),
                    entry.series or "",
                    _flag_text(extra.get("NumSubmissions")),
                    _flag_text(extra.get("FileAvailable")),
                    _flag_text(extra.get("MediaType")),
                    _flag_text(extra.get("Baseline")),
                ]
            )
            count += 1
        text.flush()
        text.detach()
        return count


def _entry(row: dict[str, str]) -> Entry:
    """One ICSE row as an entry; InvalidRecordError names the bad cell."""
    md5 = row.get("md5", "").strip()
    sha1 = row.get("sha1", "").strip()
    if not md5 and not sha1:
        raise InvalidRecordError("neither an MD5 nor a SHA1")
    entry = Entry(
        md5=checked("md5", md5) if md5 else None,
        sha1=checked("sha1", sha1) if sha1 else None,
    )
    photodna = row.get("photodna", "").strip()
    entry.photodna = photodna or None
    series = row.get("series name", "").strip()
    entry.series = series or None
    extra: dict[str, Any] = {}
    for column in _FLAG_COLUMNS:
        try:
            flag = parse_flag(row.get(column, ""))
        except InvalidRecordError as exc:
            raise InvalidRecordError(f"{column}: {exc}") from None
        if column == "is distributed":
            entry.is_distributed = flag
        elif column == "victim identified":
            entry.victim_identified = flag
        elif flag is not None:
            extra[EXTRA_KEYS[column]] = flag
    submissions = row.get("number of submissions", "").strip()
    if submissions:
        try:
            extra["NumSubmissions"] = int(submissions)
        except ValueError:
            raise InvalidRecordError(
                f"number of submissions is not a whole number: {submissions[:40]!r}"
            ) from None
    for column in ("image id", "media type"):
        value = row.get(column, "").strip()
        if value:
            extra[EXTRA_KEYS[column]] = value
    entry.extra = extra
    return entry
