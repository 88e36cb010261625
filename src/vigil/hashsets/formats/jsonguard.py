"""A pass over a JSON file before ijson parses it: nesting depth, control bytes.

Why (issue 19): ijson's parsers keep the path of every open level as a string
("value.item.item..."), so memory grows with the square of the nesting depth (a
200 KB file of ``[`` took over 20 GB, and ``[`` x 20,000 took 1 GB and then imported
nothing). This pass reads the file in bounded chunks, in C (a regular expression
drops escape pairs, numpy tracks strings and depth), and says how deep the file nests
before any parser sees it: deeper than the limit is a ``HashSetError``. It also notes
whether the file escapes UTF-16 surrogates, so that the reader can refuse a lone one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

import numpy as np

from vigil.errors import HashSetError

#: Bytes scanned at a time.
CHUNK = 1 << 20
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_QUOTE = ord('"')
_OPEN_ARRAY, _CLOSE_ARRAY, _OPEN_MAP, _CLOSE_MAP = (ord(c) for c in "[]{}")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Every byte but those ``_CONTROL`` finds (``bytes.translate`` deletes them: fast).
_NOT_CONTROL = bytes(b for b in range(256) if not _CONTROL.match(bytes([b])))
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass
class JsonShape:
    """What the pass found: the deepest nesting, and whether surrogates are escaped."""

    depth: int = 0
    #: Whether a ``\uD800``-``\uDFFF`` escape occurs (records are then checked for a
    #: lone surrogate, which UTF-8 cannot hold and SQLite would store as "?").
    surrogate_escapes: bool = False


def scan(handle: IO[bytes], name: str, max_depth: int, max_string: int = 1 << 62) -> JsonShape:
    """Scan ``handle`` from its position to its end; HashSetError past a limit.

    Brackets inside strings do not nest: a quote preceded by an escaping backslash
    does not end a string. A control byte (JSON allows none, not even in strings) ends
    the scan at once: a file of NULs is not read to its end. A string longer than
    ``max_string`` bytes (escape sequences not counted) is an error too: ijson would hold it
    whole.
    """
    shape = JsonShape()
    depth = 0
    in_string = 0  # 1 when the last chunk ended inside a string
    open_length = 0  # bytes of that string so far
    pending = b""  # an escaping backslash cut from the end of the last chunk
    offset = 0
    previous = b""
    while chunk := handle.read(CHUNK):
        control = _CONTROL.search(chunk) if chunk.translate(None, _NOT_CONTROL) else None
        if control is not None:
            raise HashSetError(
                f"{name}: not JSON text: a control byte 0x{chunk[control.start()]:02x} at "
                f"byte {offset + control.start():,} (JSON holds none, even in strings)"
            )
        if not shape.surrogate_escapes and _SURROGATE.search(previous[-6:] + chunk):
            shape.surrogate_escapes = True
        previous = chunk
        offset += len(chunk)
        data = pending + chunk
        pending = b""
        if b"\\" in data:
            data = _ESCAPE.sub(b"", data)
            if data.endswith(b"\\"):
                pending, data = b"\\", data[:-1]
        if not data:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)
        quotes = np.flatnonzero(raw == _QUOTE)
        brackets = np.flatnonzero(
            (raw == _OPEN_ARRAY) | (raw == _OPEN_MAP) | (raw == _CLOSE_ARRAY) | (raw == _CLOSE_MAP)
        )
        if len(brackets):
            outside = ((np.searchsorted(quotes, brackets) + in_string) & 1) == 0
            kept = raw[brackets[outside]]
            delta = np.where((kept == _OPEN_ARRAY) | (kept == _OPEN_MAP), 1, -1)
            if len(delta):
                levels = np.cumsum(delta) + depth
                deepest = int(levels.max())
                depth = int(levels[-1])
                if deepest > shape.depth:
                    shape.depth = deepest
                    if deepest > max_depth:
                        raise HashSetError(
                            f"{name}: JSON nested {max_depth + 1} levels deep or more (within "
                            f"its first {offset:,} bytes); a hash list needs about 6 and Vigil "
                            f"reads at most {max_depth}"
                        )
        open_length = _strings(quotes, in_string, open_length, len(data), name, max_string)
        in_string = (len(quotes) + in_string) & 1
    return shape


def _strings(
    quotes: np.ndarray, in_string: int, open_length: int, size: int, name: str, limit: int
) -> int:
    """Check the strings a chunk ends or holds; return the length of one left open."""
    if in_string and not len(quotes):  # the whole chunk is inside one string
        open_length += size
        _check_string(open_length, name, limit)
        return open_length
    longest = 0
    if in_string:
        longest = open_length + int(quotes[0])
        quotes = quotes[1:]
    opens, closes = quotes[0::2], quotes[1::2]
    if len(closes):
        longest = max(longest, int((closes - opens[: len(closes)]).max()) - 1)
    open_length = 0
    if len(opens) > len(closes):
        open_length = size - int(opens[-1]) - 1
        longest = max(longest, open_length)
    _check_string(longest, name, limit)
    return open_length


def _check_string(length: int, name: str, limit: int) -> None:
    if length > limit:
        raise HashSetError(
            f"{name}: a JSON string longer than {limit:,} bytes; Vigil reads strings of at "
            "most that length"
        )
