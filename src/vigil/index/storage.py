"""Saved indexes: a directory of ``.npy`` arrays and a ``manifest.json``. No pickle.

Big immutable arrays (a main segment) are written once under a name that carries a
random segment id; saving again into the same directory only rewrites the small
mutable parts (delta, tombstones) and the manifest, so that an update costs
milliseconds, not a rewrite of a gigabyte. The manifest is replaced atomically last,
so a crash mid-save leaves the previous index intact; files of segments the manifest
no longer names are deleted afterwards.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from vigil.errors import UsageError
from vigil.fsutil import atomic_path, atomic_write

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def new_segment_id() -> str:
    """A fresh random name for an immutable segment."""
    return uuid.uuid4().hex[:16]


def save_array(directory: Path, name: str, array: np.ndarray, *, keep: bool = False) -> None:
    """Write ``name.npy`` atomically; with ``keep``, leave an existing file alone (immutable)."""
    target = directory / f"{name}.npy"
    if keep and target.exists():
        return
    with atomic_path(target, mode=None, suffix=".npy") as tmp:
        np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)


def load_array(directory: Path, name: str, *, mmap: bool = True) -> np.ndarray:
    """Open ``name.npy``, memory-mapped read-only by default."""
    path = directory / f"{name}.npy"
    if not path.exists():
        raise UsageError(f"index file missing: {path}")
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


def write_manifest(directory: Path, kind: str, body: dict[str, Any], files: list[str]) -> None:
    """Replace the manifest atomically, then delete ``.npy`` files it does not name."""
    manifest = {"format": FORMAT_VERSION, "kind": kind, "files": sorted(files), **body}
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write(directory / MANIFEST, text, mode=None)
    wanted = {f"{f}.npy" for f in files}
    for stale in directory.glob("*.npy"):
        if stale.name not in wanted:
            stale.unlink(missing_ok=True)


def read_manifest(directory: str | Path, kind: str) -> tuple[Path, dict[str, Any]]:
    """The directory and its manifest; UsageError if it is not an index of ``kind``."""
    path = Path(directory)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"not a Vigil index (no {MANIFEST}): {path}") from None
    if manifest.get("kind") != kind:
        raise UsageError(f"{path} holds a {manifest.get('kind')!r} index, expected {kind!r}")
    if manifest.get("format") != FORMAT_VERSION:
        raise UsageError(f"{path}: index format {manifest.get('format')} is not supported")
    return path, manifest


def prepare_directory(directory: str | Path) -> Path:
    """Create the directory if needed."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path
