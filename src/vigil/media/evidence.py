"""Walk evidence: folder trees and, inside them, archives nested to a limited depth.

Yields one ``EvidenceItem`` per thing found, in a stable order (sorted names,
depth first; an archive before its members), with what an examiner must know
before anything is read: the kind of entry, its size and its times as found.

Never follows a symbolic link (links are recorded with their target), never opens
FIFOs, sockets or devices (recorded and skipped), detects folder loops (bind mounts)
by device and inode, and reads archives in memory through ``vigil.media.archives``.
Item paths inside archives use ``!/``: ``backup.tar!/photos.zip!/a.jpg``.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vigil.errors import describe
from vigil.media.archives import ArchiveLimits, Budget, Member, is_archive, members
from vigil.media.reader import describe_mode, open_evidence
from vigil.media.sniff import HEAD_SIZE, sniff

SEPARATOR = "!/"


def display_path(path: str) -> str:
    r"""A path that can be stored and shown: names that are not UTF-8 get ``\xNN`` escapes.

    File systems allow any bytes in names; Python hands undecodable ones over as lone
    surrogates, which no database or JSON can hold. The real path is kept in
    ``fs_path`` for opening the file; this one is for records and reports.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


@dataclass
class EvidenceItem:
    """One entry of the evidence: a file on disk, an archive member, or a recorded oddity."""

    path: str  # display path; inside archives joined with "!/"
    container: str | None = None  # the innermost archive's display path, if any
    depth: int = 0  # 0 on disk, 1 inside an archive, 2 inside an archive in an archive...
    kind: str = "file"  # file, symlink, fifo, socket, character device, block device, ...
    size: int | None = None
    mtime: float | None = None
    ctime: float | None = None
    atime: float | None = None
    fs_path: str | None = None  # the real path, for items on disk
    data: bytes | None = None  # content of an archive member held in memory
    stream: BinaryIO | None = None  # content of a large member: read once, before the next item
    link_target: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def walk(
    roots: list[Path], limits: ArchiveLimits | None = None, *, expand: bool = True
) -> Iterator[EvidenceItem]:
    """Every item under the roots (files or folders), in a stable order.

    With ``expand`` archives are opened and their members follow them; without it only
    what is on disk is listed, and ``expand_file`` opens one archive later (in a worker).
    """
    limits = limits or ArchiveLimits()
    for root in roots:
        for item in _walk_root(root):
            yield item
            if expand and item.kind == "file" and item.depth == 0 and item.size:
                yield from expand_file(item.fs_path or item.path, limits, display=item.path)


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
        yield from _disk_item(root, st)


def _walk_dir(folder: Path, ancestors: set[tuple[int, int]]) -> Iterator[EvidenceItem]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield EvidenceItem(
            path=display_path(str(folder)),
            kind="directory",
            error=f"cannot list folder: {exc.strerror}",
        )
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
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
            yield from _disk_item(path, st)


def _disk_item(path: Path, st: os.stat_result) -> Iterator[EvidenceItem]:
    item = EvidenceItem(
        path=display_path(str(path)),
        kind="file" if stat.S_ISREG(st.st_mode) else describe_mode(st.st_mode),
        size=st.st_size if stat.S_ISREG(st.st_mode) else None,
        mtime=st.st_mtime,
        ctime=st.st_ctime,
        atime=st.st_atime,
        fs_path=str(path),
    )
    if item.path != item.fs_path:
        item.notes.append("file name is not valid UTF-8: shown with \\x escapes")
    if stat.S_ISLNK(st.st_mode):
        try:
            item.link_target = display_path(os.readlink(path))
        except OSError as exc:
            item.error = f"cannot read link: {exc.strerror}"
        item.notes.append("symbolic link: recorded, not followed")
    elif not stat.S_ISREG(st.st_mode):
        item.notes.append(f"{item.kind}: recorded, not read")
    yield item


def expand_file(
    path: str, limits: ArchiveLimits | None = None, *, display: str | None = None
) -> Iterator[EvidenceItem]:
    """The members of the archive at ``path`` (nothing if it is not an archive), recursively.

    Members are named after ``display`` (the archive's shown path; default ``path``).
    """
    limits = limits or ArchiveLimits()
    shown = display or display_path(path)
    if limits.max_depth < 1:
        return
    try:
        with open_evidence(path) as f:
            mime = sniff(f.read(HEAD_SIZE))
            if not is_archive(mime):
                return
            f.seek(0)
            yield from _expand(f, mime, shown, 1, limits, Budget(limits.max_total_bytes))
    except Exception as exc:  # the archive item itself was recorded; record the failure
        yield EvidenceItem(
            path=shown + SEPARATOR,
            container=shown,
            depth=1,
            kind="other",
            error=f"cannot read archive: {describe(exc)}",
        )


def _expand(
    stream: BinaryIO, mime: str, container: str, depth: int, limits: ArchiveLimits, budget: Budget
) -> Iterator[EvidenceItem]:
    """The members of one archive, and recursively of archives inside it."""
    name = container.rsplit(SEPARATOR, 1)[-1]
    try:
        for member in members(stream, mime, name, limits, budget):
            item = _member_item(member, container, depth)
            yield item
            if item.error or item.kind != "file":
                continue
            inner = sniff((member.data or b"")[:HEAD_SIZE]) if member.data is not None else None
            if inner is None or not is_archive(inner):
                continue
            if depth >= limits.max_depth:
                item.notes.append(
                    f"archive nested deeper than {limits.max_depth} levels: not opened"
                )
                continue
            yield from _expand(
                io.BytesIO(member.data or b""), inner, item.path, depth + 1, limits, budget
            )
    except Exception as exc:  # a corrupt or hostile archive: keep what was read
        yield EvidenceItem(
            path=container + SEPARATOR,
            container=container,
            depth=depth,
            kind="other",
            error=f"cannot read archive: {describe(exc)}",
        )


def _member_item(member: Member, container: str, depth: int) -> EvidenceItem:
    return EvidenceItem(
        path=f"{container}{SEPARATOR}{display_path(member.name)}",
        container=container,
        depth=depth,
        kind=member.kind,
        size=member.size,
        mtime=member.mtime,
        data=member.data,
        stream=member.stream,
        link_target=display_path(member.link_target) if member.link_target else None,
        error=member.error,
        notes=list(member.notes),
    )
