"""The registry of hash-set file formats, and detection.

One explicit line per format (style anchor 3), each naming the module and class, so
a format is imported only when used: a missing optional dependency (ijson for VICS)
disables that format with a clear message instead of breaking the others. Names are
stored with each set (``source_format``) and never change.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from vigil.errors import HashSetError, UsageError
from vigil.hashsets.formats.base import HEAD_SIZE, HashSetFormat, ReadContext

FORMATS: dict[str, str] = {
    "vics": "vigil.hashsets.formats.vics:VicsFormat",
    "vics1": "vigil.hashsets.formats.vics1:Vics1Format",
    "caid": "vigil.hashsets.formats.caid:CaidFormat",
    "csv": "vigil.hashsets.formats.tx_csv:TxCsvFormat",
    "tx": "vigil.hashsets.formats.tx_lines:TxLinesFormat",
    "md5sum": "vigil.hashsets.formats.checksum:Md5sumFormat",
    "sha1sum": "vigil.hashsets.formats.checksum:Sha1sumFormat",
    "sha256sum": "vigil.hashsets.formats.checksum:Sha256sumFormat",
    "hashdeep": "vigil.hashsets.formats.hashdeep:HashdeepFormat",
    "md5-list": "vigil.hashsets.formats.hexlist:Md5ListFormat",
    "sha1-list": "vigil.hashsets.formats.hexlist:Sha1ListFormat",
    "sha256-list": "vigil.hashsets.formats.hexlist:Sha256ListFormat",
    "pdq-list": "vigil.hashsets.formats.hexlist:PdqListFormat",
    "nsrl": "vigil.hashsets.formats.nsrl:NsrlFormat",
    "nsrl-rds2": "vigil.hashsets.formats.nsrl_rds2:NsrlRds2Format",
    "icse": "vigil.hashsets.formats.icse:IcseFormat",
    "encase": "vigil.hashsets.formats.encase:EncaseFormat",
    "hashkeeper": "vigil.hashsets.formats.hashkeeper:HashKeeperFormat",
    "autopsy-kdb": "vigil.hashsets.formats.autopsy_kdb:AutopsyKdbFormat",
    "tsk-idx": "vigil.hashsets.formats.tsk_idx:TskIdxFormat",
}


def format_class(name: str) -> type[HashSetFormat]:
    """The format registered as ``name``; UsageError for an unknown or unavailable one."""
    try:
        target = FORMATS[name.lower()]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UsageError(f"unknown hash-set format {name!r} (known: {known})") from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"format {name} is not available: {exc}") from exc
    cls: type[HashSetFormat] = getattr(module, class_name)
    return cls


def get_format(name: str) -> HashSetFormat:
    """An instance of the format registered as ``name``."""
    return format_class(name)()


def detect_format(path: Path) -> str:
    """The name of the format that is surest of ``path``; HashSetError if none is."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_SIZE)
    except OSError as exc:
        raise HashSetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not head.strip():
        raise HashSetError(f"{path}: the file is empty")
    best, best_score = None, 0
    for name in FORMATS:
        try:
            score = format_class(name).detect(head, path)
        except UsageError:
            continue
        if score > best_score:
            best, best_score = name, score
    if best is None:
        raise HashSetError(
            f"{path}: cannot tell the format from its first bytes; name it with --format "
            f"({', '.join(FORMATS)})"
        )
    return best


__all__ = ["FORMATS", "HashSetFormat", "ReadContext", "detect_format", "format_class", "get_format"]
