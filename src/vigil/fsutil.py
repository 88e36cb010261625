"""Writing a file atomically: readers see the old file or the whole new one, never half.

Reports, exports, signing keys, referral packages and saved indexes are all written
the same way: into a temporary file in the destination's folder (so the final rename
stays on one file system), flushed and fsynced, given its mode, then renamed over the
destination with ``os.replace``; on any error or Ctrl-C the temporary file is removed
and the destination is as it was. One helper instead of five copies that each forgot
a different step (one never fsynced, one left ``.tmp`` files behind on error).

Modes: the default ``0o600`` is what these files have always had (``mkstemp`` makes
its file private), which suits evidence-derived outputs. ``mode=None`` gives the
file the mode a plain ``open()`` would (``0o666`` less the umask), for files that are
not sensitive, such as index arrays and public keys written with an explicit mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: Private to the user: the mode ``mkstemp`` gives, and what reports have always had.
PRIVATE = 0o600


def _umask() -> int:
    """The process's umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it elsewhere
    os.umask(mask)
    return mask


def _final_mode(mode: int | None) -> int:
    return (0o666 & ~_umask()) if mode is None else mode


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); silently skipped where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, mode: int | None = PRIVATE, suffix: str = ""
) -> Iterator[Path]:
    """A temporary path beside ``path`` to write by name; moved over ``path`` on success.

    For writers that want a file name rather than an open file (``numpy.save``,
    ``zipfile``); ``suffix`` keeps an extension such writers insist on (``.npy``).
    The file exists (empty, private) when the block starts.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(tmp, _final_mode(mode))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], *, mode: int | None = PRIVATE) -> Iterator[IO[bytes]]:
    """A binary file to write; it replaces ``path`` when the block ends without error."""
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _final_mode(mode))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(target.parent)


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = PRIVATE
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; return the path."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_open(path, mode=mode) as handle:
        handle.write(payload)
    return Path(path)
