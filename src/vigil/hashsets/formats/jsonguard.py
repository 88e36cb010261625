"""A pass over a JSON file before ijson parses it: nesting depth and number lengths.

Why (issue 19): ijson's parsers keep the path of every open level as a string
("value.item.item..."), so memory grows with the square of the nesting depth (a
200 KB file of ``[`` took over 20 GB); and its yajl2 C backend crashes the process on
an integer of more than 4,300 digits and refuses integers above 2^63. This pass reads
the file in bounded chunks, in C (a regular expression drops escape pairs, numpy
tracks strings and depth), and says how deep the file nests and how long its longest
number is, before any parser sees it. Too deep or too long is a ``HashSetError``; a
number the C backend cannot take (19 digits or more) sends the file to ijson's
pure-Python backend, which reads such numbers exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

import numpy as np

from vigil.errors import HashSetError

#: Bytes scanned at a time.
CHUNK = 1 << 20
#: Digits from which a number goes to the pure-Python backend (2^63 has 19).
LONG_NUMBER = 19
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_LONG_DIGITS = re.compile(rb"[0-9]{%d,}" % LONG_NUMBER)
_DIGITS = b"0123456789"
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1
_QUOTE = ord('"')


@dataclass
class JsonShape:
    """What the pass found: the deepest nesting and the longest run of digits."""

    depth: int = 0
    longest_number: int = 0

    @property
    def needs_python_backend(self) -> bool:
        """Whether a number is too long for the C backend (which crashes or refuses it)."""
        return self.longest_number >= LONG_NUMBER


def scan(handle: IO[bytes], name: str, max_depth: int, max_digits: int) -> JsonShape:
    """Scan ``handle`` from its position to its end; HashSetError past either limit.

    Digits inside strings are not numbers and brackets inside strings do not nest: a
    quote preceded by an escaping backslash does not end a string. Digit runs count
    fraction and exponent digits too (a long fraction also goes to the Python backend,
    which is harmless).
    """
    shape = JsonShape()
    depth = 0
    in_string = False
    pending = b""  # an escaping backslash cut from the end of the last chunk
    tail_digits = 0  # digits at the end of the last chunk, outside strings
    offset = 0
    while chunk := handle.read(CHUNK):
        data = _ESCAPE.sub(b"", pending + chunk)
        pending = b""
        if data.endswith(b"\\"):
            pending, data = b"\\", data[:-1]
        offset += len(chunk)
        if not data:
            continue
        raw = np.frombuffer(data, dtype=np.uint8)
        quotes = raw == _QUOTE
        inside = (np.cumsum(quotes, dtype=np.int64) + in_string) & 1
        inside = inside.astype(bool)
        in_string = bool(inside[-1])
        delta = _DELTA[raw].astype(np.int64)
        delta[inside] = 0
        levels = np.cumsum(delta) + depth
        deepest = int(levels.max())
        depth = int(levels[-1])
        if deepest > shape.depth:
            shape.depth = deepest
            if deepest > max_depth:
                raise HashSetError(
                    f"{name}: JSON nested {max_depth + 1} levels deep or more (within its "
                    f"first {offset:,} bytes); a hash list needs about 6 and Vigil reads at "
                    f"most {max_depth}"
                )
        outside = raw.copy()
        outside[inside | quotes] = ord("x")
        text = outside.tobytes()
        lead = len(text) - len(text.lstrip(_DIGITS))
        if lead == len(text):
            tail_digits += lead
            _longest(shape, tail_digits, name, max_digits)
            continue
        _longest(shape, tail_digits + lead, name, max_digits)
        for match in _LONG_DIGITS.finditer(text):
            _longest(shape, match.end() - match.start(), name, max_digits)
        tail_digits = len(text) - len(text.rstrip(_DIGITS))
    return shape


def _longest(shape: JsonShape, digits: int, name: str, max_digits: int) -> None:
    if digits > shape.longest_number:
        shape.longest_number = digits
        if digits > max_digits:
            raise HashSetError(
                f"{name}: a JSON number of {max_digits + 1:,} digits or more; Vigil reads "
                f"numbers of at most {max_digits:,} digits"
            )
