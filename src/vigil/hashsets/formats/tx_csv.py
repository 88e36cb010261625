"""HMA/ThreatExchange dataset CSV: ``threatexchange dataset --csv`` output.

Columns ``signal_type,signal_str,collab,category,tags`` with a header row; ``tags``
are separated by spaces; ``category`` is pytx's opinion (``POSITIVE_CLASS``,
``NEGATIVE_CLASS``, ``INVESTIGATION_SEED``), not a grading, so it is kept in the
entry's ``extra`` (as ``tx_category``, with ``collab``) and never in ``category``.
Parsed with the standard ``csv`` module, which handles quoting and streams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import InvalidHashError, InvalidRecordError
from vigil.hashsets.formats.base import (
    HashSetFormat,
    ReadContext,
    UnreadableTextError,
    text_head,
    text_lines,
)
from vigil.hashsets.formats.threatexchange import VIGIL_TO_TX, vigil_type
from vigil.hashsets.model import Entry, HashSetInfo, Rejected, canonical_hash

COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")


class TxCsvFormat(HashSetFormat):
    """``threatexchange dataset --csv``."""

    name = "csv"
    title = "HMA / ThreatExchange dataset CSV: signal_type,signal_str,collab,category,tags"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        first = text_head(head).lstrip().split("\n", 1)[0].strip().lower()
        return 100 if first.startswith("signal_type,signal_str") else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``)."""
        with ctx.open() as raw:
            reader = csv.reader(text_lines(ctx, raw))
            try:
                header = [h.strip().lower() for h in next(reader)]
            except StopIteration:
                return
            except UnreadableTextError as exc:
                yield exc.rejected
                return
            except csv.Error as exc:
                yield Rejected(ctx.at(1), f"unreadable header: {exc}", True)
                return
            if header[:2] != ["signal_type", "signal_str"]:
                yield Rejected(
                    ctx.at(1), f"header {header} does not start signal_type,signal_str"[:300], True
                )
                return
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
                    yield Rejected(
                        ctx.at(reader.line_num),
                        f"bad CSV: {exc}; the rest of the file is not read",
                        True,
                    )
                    return
                start, line = line + 1, reader.line_num
                if not row or not any(row):
                    continue
                yield _entry(ctx, start, dict(zip(header, row, strict=False)))

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write the entries in this format (see ``HashSetFormat.write``)."""
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info)
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        count = 0
        for entry in entries:
            tags = " ".join(entry.tags)
            collab = entry.extra.get("collab", "")
            category = entry.extra.get("tx_category", "")
            for hash_type, value in entry.hashes().items():
                writer.writerow((VIGIL_TO_TX[hash_type], value, collab, category, tags))
                count += 1
        text.flush()
        text.detach()
        return count


def _entry(ctx: ReadContext, line: int, row: dict[str, str]) -> Entry | Rejected:
    try:
        hash_type = vigil_type(row.get("signal_type", ""))
        value = canonical_hash(hash_type, row.get("signal_str", ""))
    except (InvalidRecordError, InvalidHashError) as exc:
        return Rejected(ctx.at(line), str(exc))
    entry = Entry(tags=tuple(row.get("tags", "").split()))
    setattr(entry, hash_type, value)
    if row.get("collab"):
        entry.extra["collab"] = row["collab"]
    if row.get("category"):
        entry.extra["tx_category"] = row["category"]
    return entry
