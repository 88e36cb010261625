r"""The root source for the local disk: folders (walked recursively) and single files.

Yields one item per entry in a stable order (sorted names, depth first) with what an
examiner must know before anything is read: the kind of entry, its size and its times
as found. Never follows a symbolic link (links are recorded with their target), never
opens FIFOs, sockets or devices (recorded and skipped), and detects folder loops (bind
mounts) by device and inode. Names that are not UTF-8 are shown with ``\x`` escapes
and opened by their real bytes (the locator keeps the real name).

Folders are listed through a descriptor opened with O_NOATIME (where the OS allows it:
the owner, or root), as files are read: listing a folder would otherwise move its
access time, and evidence keeps even those.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, ClassVar

from vigil.media.names import name_note
from vigil.media.reader import describe_mode, open_evidence
from vigil.media.sources.base import EvidenceItem, Locator, LocatorError, display_path


class FolderSource:
    """Files and folders on the local disk, as given on the command line."""

    kind: ClassVar[str] = "file"

    def __init__(self, roots: list[Path]) -> None:
        """Walk ``roots`` (files or folders) in the order given."""
        self.roots = list(roots)

    @classmethod
    def for_locator(cls, locator: Locator) -> FolderSource:
        """The source that can open ``locator`` (its root step is a path)."""
        return cls([Path(locator.root.name)])

    def walk(self) -> Iterator[EvidenceItem]:
        """Every entry under the roots, in a stable order."""
        for root in self.roots:
            yield from _walk_root(root)

    def open(self, locator: Locator) -> BinaryIO:
        """Open a file on disk read-only (O_NOATIME where permitted), regular files only."""
        if len(locator.steps) != 1 or locator.root.kind != self.kind:
            raise LocatorError(f"not a file on disk: {locator.display()}")
        return open_evidence(locator.root.name)


def _walk_root(root: Path) -> Iterator[EvidenceItem]:
    try:
        st = root.lstat()
    except OSError as exc:
        yield EvidenceItem(
            path=display_path(str(root)), kind="missing", error=f"cannot stat: {exc.strerror}"
        )
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_dir(root, {(st.st_dev, st.st_ino)})
    else:
        yield _disk_item(root, st)


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def _list_dir(folder: Path) -> list[os.DirEntry[str]]:
    """The folder's entries by name, read through an O_NOATIME descriptor where permitted."""
    try:
        fd = os.open(folder, _DIR_FLAGS | _NOATIME)
    except PermissionError as exc:
        if exc.errno != errno.EPERM or not _NOATIME:
            raise
        fd = os.open(folder, _DIR_FLAGS)  # not the owner: O_NOATIME is refused
    try:
        with os.scandir(fd) as listing:
            return sorted(listing, key=lambda e: e.name)
    finally:
        os.close(fd)


def _walk_dir(folder: Path, ancestors: set[tuple[int, int]]) -> Iterator[EvidenceItem]:
    try:
        entries = _list_dir(folder)
    except OSError as exc:
        yield EvidenceItem(
            path=display_path(str(folder)),
            kind="directory",
            error=f"cannot list folder: {exc.strerror}",
        )
        return
    for entry in entries:
        path = folder / entry.name
        try:
            st = path.lstat()  # entries of a descriptor's listing cannot stat after it closes
        except OSError as exc:
            yield EvidenceItem(
                path=display_path(str(path)), kind="unknown", error=f"cannot stat: {exc.strerror}"
            )
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                yield EvidenceItem(
                    path=display_path(str(path)),
                    kind="directory",
                    error="folder loop: already being walked",
                )
                continue
            yield from _walk_dir(path, ancestors | {key})
        else:
            yield _disk_item(path, st)


def _disk_item(path: Path, st: os.stat_result) -> EvidenceItem:
    item = EvidenceItem(
        path=display_path(str(path)),
        kind="file" if stat.S_ISREG(st.st_mode) else describe_mode(st.st_mode),
        size=st.st_size if stat.S_ISREG(st.st_mode) else None,
        mtime=st.st_mtime,
        ctime=st.st_ctime,
        atime=st.st_atime,
        fs_path=str(path),
        locator=Locator.file(path),
    )
    if item.path != item.fs_path:
        item.notes.append("file name is not valid UTF-8: shown with \\x escapes")
    item.notes.extend(name_note(item.path))
    if stat.S_ISLNK(st.st_mode):
        try:
            item.link_target = display_path(os.readlink(path))
        except OSError as exc:
            item.error = f"cannot read link: {exc.strerror}"
        item.notes.append("symbolic link: recorded, not followed")
    elif not stat.S_ISREG(st.st_mode):
        item.notes.append(f"{item.kind}: recorded, not read")
    return item
