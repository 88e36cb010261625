r"""Names that could deceive a reader: bidi controls, control and invisible characters.

A file name may hold a right-to-left override (U+202E), so that ``\u202egpj.exe`` is
displayed as ``exe.jpg``; or a tab, a newline, an escape sequence, a zero-width space.
Names are kept exactly as found (they are evidence); what is shown to people goes
through ``visible``, which writes each such character as a visible escape
(``\u202e``, ``\x1b``), and ``name_note`` flags the item so that the examiner knows.
"""

from __future__ import annotations

import re

#: Control characters (C0, DEL, C1), the soft hyphen, bidi marks, embeddings, overrides
#: and isolates, zero-width and invisible formatting characters, line and paragraph
#: separators, the BOM, interlinear annotations, tag characters, lone surrogates.
_PATTERN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def deceptive_characters(text: str) -> list[str]:
    """The code points (``U+202E``) of the deceptive characters in ``text``, each once."""
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in _PATTERN.findall(text)))


def visible(text: str) -> str:
    r"""``text`` with every bidi, control or invisible character escaped (``\u202e``)."""
    return _PATTERN.sub(_escape, text)


def name_note(name: str) -> list[str]:
    """A note for an item whose name holds deceptive characters (empty list otherwise)."""
    found = deceptive_characters(name)
    if not found:
        return []
    return [
        f"name holds bidi, control or invisible characters ({', '.join(found[:8])}): "
        "shown escaped in reports and CSV"
    ]
