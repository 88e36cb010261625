"""Open evidence read-only, without touching its access time where the OS lets us.

Evidence must not change: Vigil opens files with O_RDONLY and, where permitted,
O_NOATIME (Linux allows it to the file's owner and to root), so that reading a
file does not even update its atime.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from vigil.errors import MediaError

_NOATIME = getattr(os, "O_NOATIME", 0)


def open_evidence(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file read-only (O_NOATIME where permitted) as a buffered binary file.

    Raises MediaError for what is not a regular file (a FIFO would block, a device
    could be endless) and for files that cannot be opened, with the reason.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        st = os.stat(path, follow_symlinks=True)
    except OSError as exc:
        raise MediaError(f"cannot open: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(f"not a regular file ({describe_mode(st.st_mode)})")
    try:
        fd = os.open(path, flags | _NOATIME)
    except PermissionError as exc:
        if exc.errno != errno.EPERM or not _NOATIME:
            raise MediaError(f"cannot open: {exc.strerror}") from exc
        fd = _open_plain(path, flags)
    except OSError as exc:
        raise MediaError(f"cannot open: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "rb", buffering=0)


def _open_plain(path: str | os.PathLike[str], flags: int) -> int:
    try:
        return os.open(path, flags)
    except OSError as exc:
        raise MediaError(f"cannot open: {exc.strerror or exc}") from exc


def describe_mode(mode: int) -> str:
    """Name the kind of file a stat mode describes."""
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISLNK, "symbolic link"),
    ):
        if test(mode):
            return name
    return "regular file" if stat.S_ISREG(mode) else "unknown"


def iter_files(paths: list[Path]) -> list[Path]:
    """Expand files and folders into the paths of what is on disk, in the scan's walk order.

    Kept for callers that still hash paths; new code takes items from
    ``vigil.scan.walk`` (archives opened) or ``vigil.media.sources``. The walk is the
    folder source's: links are listed, not followed; loops are not entered.
    """
    from vigil.media.sources.folder import FolderSource

    return [Path(item.fs_path or item.path) for item in FolderSource(paths).walk()]
