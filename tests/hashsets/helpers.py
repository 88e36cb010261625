"""Read a file with one format, spelled out as entries and rejections."""

from __future__ import annotations

from pathlib import Path

from vigil.hashsets.formats import get_format
from vigil.hashsets.formats.base import ReadContext
from vigil.hashsets.model import Entry, HashSetInfo, Rejected, expand


def read_all(name: str, path: Path) -> tuple[list[Entry], list[Rejected], ReadContext]:
    ctx = ReadContext(path)
    entries: list[Entry] = []
    rejected: list[Rejected] = []
    for item in expand(get_format(name).read(ctx)):
        (entries if isinstance(item, Entry) else rejected).append(item)
    return entries, rejected, ctx


def rewrite(name: str, entries: list[Entry], path: Path, **info: object) -> Path:
    """Write ``entries`` with format ``name`` to ``path``."""
    fmt = get_format(name)
    target = HashSetInfo(name="t", **info)  # type: ignore[arg-type]
    if fmt.writes_path:
        fmt.write(entries, path, target)
    else:
        with path.open("wb") as handle:
            fmt.write(entries, handle, target)
    return path
