"""Export a stored hash set to a file in any registered format."""

from __future__ import annotations

import sys
from pathlib import Path

from vigil.errors import UsageError
from vigil.hashsets.formats import get_format
from vigil.store.hashsets import HashSetRepository


def export_set(repo: HashSetRepository, name: str, format_name: str, out: Path | None) -> int:
    """Write the set ``name`` as ``format_name`` to ``out`` (stdout if None); return count."""
    info = repo.require(name)
    fmt = get_format(format_name)
    entries = repo.entries(name)
    if fmt.writes_path:
        if out is None:
            raise UsageError(f"format {fmt.name} writes a database: give --out FILE")
        return fmt.write(entries, out, info)
    if out is None:
        count = fmt.write(entries, sys.stdout.buffer, info)
        sys.stdout.buffer.flush()
        return count
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as handle:
            count = fmt.write(entries, handle, info)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return count
