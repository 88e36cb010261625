"""ThreatExchange/HMA hash lines: ``<signal_type> <hash>``, one signal per line.

The format of ``threatexchange hash`` output and of pytx's local-file exchange (for
example ``pdq 3cf7...``). Each line is one entry with one hash; anything after the
hash on the line is kept as the entry's comment. An entry holding several hashes is
written as one line per hash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from vigil.errors import InvalidHashError, InvalidRecordError
from vigil.hashsets.formats.base import (
    HashSetFormat,
    ReadContext,
    first_lines,
    iter_text_lines,
    write_text,
)
from vigil.hashsets.formats.threatexchange import TX_TO_VIGIL, VIGIL_TO_TX, vigil_type
from vigil.hashsets.model import Entry, HashSetInfo, Rejected, canonical_hash
from vigil.signals import signal_names

_DETECT = re.compile(r"^(" + "|".join(TX_TO_VIGIL) + r") \S+", re.IGNORECASE)


class TxLinesFormat(HashSetFormat):
    """``<signal_type> <hash>`` lines."""

    name = "tx"
    title = "ThreatExchange / HMA lines: '<signal_type> <hash>'"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """Score the file's first bytes (see ``HashSetFormat.detect``)."""
        lines = first_lines(head)
        good = sum(1 for ln in lines if _DETECT.match(ln))
        if not lines or good * 2 < len(lines):
            return 0
        return 80 if good == len(lines) else 55

    def read(self, ctx: ReadContext) -> Iterator[Entry | Rejected]:
        """Stream the file's entries (see ``HashSetFormat.read``)."""
        with ctx.open() as handle:
            for item in iter_text_lines(ctx, handle):
                if isinstance(item, Rejected):
                    yield item
                    return
                number, text = item
                if text is None:
                    yield Rejected(ctx.at(number), "not UTF-8 text")
                    continue
                if not text.strip() or text.lstrip().startswith("#"):
                    continue
                parts = text.split(maxsplit=2)
                if len(parts) < 2:
                    yield Rejected(
                        ctx.at(number), f"expected '<signal_type> <hash>': {text[:80]!r}"
                    )
                    continue
                try:
                    hash_type = _type(parts[0])
                    entry = Entry(comments=parts[2] if len(parts) > 2 else None)
                    entry.signals[hash_type] = canonical_hash(hash_type, parts[1])
                except (InvalidRecordError, InvalidHashError) as exc:
                    yield Rejected(ctx.at(number), str(exc))
                    continue
                yield entry

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """Write the entries in this format (see ``HashSetFormat.write``)."""
        return write_text(out, _lines(entries))


def _lines(entries: Iterable[Entry]) -> Iterator[str]:
    for entry in entries:
        note = " " + " ".join(entry.comments.split()) if entry.comments else ""
        for hash_type, value in entry.hashes().items():
            yield f"{VIGIL_TO_TX.get(hash_type, hash_type)} {value}{note}"


def _type(name: str) -> str:
    """Pytx's names, else any registered signal type by its own name."""
    try:
        return vigil_type(name)
    except InvalidRecordError:
        if name.strip().lower() in signal_names():
            return name.strip().lower()
        raise
