"""The Sleuth Kit's hash-database index files (``*-md5.idx``, ``*-sha1.idx``).

``hfind -i <type> DB`` writes, beside the database, a text index that TSK and Autopsy
also use on its own ("index only": ``hfind DB-md5.idx HASH`` works without the
database, and Autopsy imports ``.idx`` files as hash sets). Its layout, as TSK 4.11.1
writes and reads it:

- two header lines, ``00000000000000000000000000000000000000000|<database type>`` and
  ``00000000000000000000000000000000000000001|<database name>``;
- then one line per distinct digest, sorted: ``<upper-case hex>|<16-digit offset of the
  entry in the database>``.

The ``.idx2`` beside it is a lookup table TSK rebuilds when it is missing; Vigil
neither reads nor writes it. An entry is one digest (MD5 or SHA-1, by line length);
the offsets point into a database Vigil does not have and are not kept. The writer
makes an index-only MD5 file (offsets 0), sorted and without duplicates, which
``hfind`` searches directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from vigil.hashsets.formats.base import (
    LINE_BLOCK,
    HashSetFormat,
    ReadContext,
    line_blocks,
    text_head,
)
from vigil.hashsets.model import DigestBlock, Entry, HashSetInfo, Rejected

HEAD_TYPE = "0" * 41
HEAD_NAME = "0" * 40 + "1"
_TYPES = {32: "md5", 40: "sha1"}
_NUL = b"\x00"
_OFFSET = "|" + "0" * 16

#: Bytes of whole lines read per block.
_BLOCK = LINE_BLOCK


class TskIdxFormat(HashSetFormat):
    """The Sleuth Kit ``.idx`` hash index (MD5 or SHA-1)."""

    name = "tsk-idx"
    title = "The Sleuth Kit hash index (.idx: 'HASH|OFFSET' lines, as 'hfind -i' makes)"

    @classmethod
    def detect(cls, head: bytes, path: Path) -> int:
        """100 when the file starts with TSK's index header line."""
        return 100 if text_head(head).startswith(HEAD_TYPE + "|") else 0

    def read(self, ctx: ReadContext) -> Iterator[Entry | DigestBlock | Rejected]:
        """The digests as DigestBlocks; a bad line is named by its number."""
        number = 0
        hash_type: str | None = None
        with ctx.open() as handle:
            for lines in line_blocks(ctx, handle, _BLOCK):
                if isinstance(lines, Rejected):
                    yield lines
                    return
                values: list[str] = []
                for raw in lines:
                    number += 1
                    text = raw.decode("ascii", errors="replace").rstrip("\r\n")
                    digest, bar, rest = text.partition("|")
                    if digest in (HEAD_TYPE, HEAD_NAME):
                        key = "tsk_idx_type" if digest == HEAD_TYPE else "tsk_idx_name"
                        ctx.attributes[key] = rest
                        continue
                    if not text.strip():
                        continue
                    kind = _TYPES.get(len(digest))
                    problem = None
                    if not bar or kind is None:
                        problem = f"not a 'HASH|OFFSET' index line: {text[:80]!r}"
                    elif hash_type is not None and kind != hash_type:
                        problem = f"a {kind.upper()} line in an index of {hash_type.upper()}"
                    else:
                        try:
                            bytes.fromhex(digest)
                        except ValueError:
                            problem = f"not hex: {digest!r}"
                    if problem is not None:
                        if values:
                            yield DigestBlock(hash_type or "md5", values)
                            values = []
                        yield Rejected(ctx.at(number), problem)
                        continue
                    hash_type = kind
                    values.append(digest.lower())
                if values:
                    yield DigestBlock(hash_type or "md5", values)
        if hash_type is not None:
            ctx.version = f"TSK {hash_type.upper()} index"

    def write(self, entries: Iterable[Entry], out: IO[bytes] | Path, info: HashSetInfo) -> int:
        """An index-only MD5 ``.idx``: header lines, then the distinct MD5s sorted.

        The digests are sorted as 16-byte strings in a numpy array (16 bytes each,
        not a Python object per hash); byte order is the order of their hex.
        """
        if isinstance(out, Path):
            with out.open("wb") as handle:
                return self.write(entries, handle, info)
        raw = bytearray()
        for entry in entries:
            if entry.md5 is not None:
                raw += bytes.fromhex(entry.md5)
        digests = np.unique(np.frombuffer(bytes(raw), dtype="S16")) if raw else []
        kind = str(info.attributes.get("tsk_idx_type") or "md5sum")
        name = str(info.attributes.get("tsk_idx_name") or info.name).replace("\n", " ")
        out.write(f"{HEAD_TYPE}|{kind}\n{HEAD_NAME}|{name}\n".encode())
        buffer: list[str] = []
        for digest in digests:
            # numpy drops trailing zero bytes of an S16 item: pad them back
            buffer.append(bytes(digest).ljust(16, _NUL).hex().upper() + _OFFSET)
            if len(buffer) >= 65536:
                out.write(("\n".join(buffer) + "\n").encode("ascii"))
                buffer.clear()
        if buffer:
            out.write(("\n".join(buffer) + "\n").encode("ascii"))
        return len(digests)
