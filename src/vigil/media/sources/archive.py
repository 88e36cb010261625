"""The container source for archives: the members of one archive item of any other source.

Reads through ``vigil.media.archives`` (zip, tar and compressed tars, lone compressed
files, 7z) in memory, with its limits and the budget shared by one piece of evidence.
A member's locator is the archive's locator plus ``Step("archive", member name,
position)``; nesting is a chain of these sources, one per level, so a member of an
archive inside an archive on a disk image opens the same way as one on a folder.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from vigil.errors import MediaError, describe
from vigil.media.archives import ArchiveLimits, Budget, Member, is_archive, members
from vigil.media.sniff import HEAD_SIZE, sniff
from vigil.media.sources.base import (
    SEPARATOR,
    EvidenceItem,
    Locator,
    LocatorError,
    Source,
    display_path,
)


class ArchiveSource:
    """The members of the archive at ``at``, read through ``parent``."""

    kind: ClassVar[str] = "archive"

    def __init__(
        self,
        parent: Source,
        at: Locator,
        limits: ArchiveLimits | None = None,
        budget: Budget | None = None,
        shown: str | None = None,
    ) -> None:
        """Members of the archive item ``at`` of ``parent``; ``shown``: its display path."""
        self.parent, self.at = parent, at
        self.limits = limits or ArchiveLimits()
        self.budget = budget or Budget(self.limits.max_total_bytes)
        self.shown = shown or at.display()

    @classmethod
    def detect(cls, head: bytes, name: str) -> bool:
        """Whether content starting with ``head`` is an archive Vigil reads into."""
        return is_archive(sniff(head))

    def walk(self, stream: BinaryIO | None = None) -> Iterator[EvidenceItem]:
        """The members, in the archive's order; a corrupt archive ends in one error item."""
        depth = self.at.depth + 1
        try:
            own = stream is None
            if stream is None:
                stream = self.parent.open(self.at)
            try:
                for index, member in enumerate(self._members(stream, self.budget)):
                    yield self._item(member, index, depth)
            finally:
                if own:
                    stream.close()
        except Exception as exc:  # a corrupt or hostile archive: keep what was read
            yield EvidenceItem(
                path=self.shown + SEPARATOR,
                container=self.shown,
                depth=depth,
                kind="other",
                error=f"cannot read archive: {describe(exc)}",
            )

    def open(self, locator: Locator) -> BinaryIO:
        """One member's content: in memory (seekable), or re-read from the archive on seek."""
        step = locator.steps[-1]
        if locator.parent != self.at or step.kind != self.kind:
            raise LocatorError(f"not a member of {self.shown}: {locator.display()}")
        return _open_member(self, step.name, step.index)

    def _members(self, stream: BinaryIO, budget: Budget) -> Iterator[Member]:
        mime = sniff(stream.read(HEAD_SIZE))
        stream.seek(0)
        if not is_archive(mime):
            raise MediaError(f"not an archive ({mime})")
        yield from members(stream, mime, self.at.steps[-1].name, self.limits, budget)

    def _item(self, member: Member, index: int, depth: int) -> EvidenceItem:
        return EvidenceItem(
            path=f"{self.shown}{SEPARATOR}{display_path(member.name)}",
            container=self.shown,
            depth=depth,
            kind=member.kind,
            size=member.size,
            mtime=member.mtime,
            data=member.data,
            stream=member.stream,
            link_target=display_path(member.link_target) if member.link_target else None,
            error=member.error,
            notes=list(member.notes),
            locator=self.at.child(self.kind, member.name, index) if member.name else None,
        )


def _open_member(source: ArchiveSource, name: str, index: int | None) -> BinaryIO:
    """Find the member (by position and name, or the first of that name) and return it.

    A member held in memory comes back as a seekable BytesIO. A member over
    ``ArchiveLimits.memory_member_bytes`` is never held in memory and nothing is written
    to disk, so it comes back as a forward-only stream that keeps the archive open.
    """
    archive = source.parent.open(source.at)
    found = source._members(archive, Budget(source.limits.max_total_bytes))
    try:
        for position, member in enumerate(found):
            if member.name != name or (index is not None and position != index):
                continue
            if member.error:
                raise MediaError(member.error)
            if member.kind != "file":
                raise MediaError(f"not a regular file ({member.kind})")
            if member.data is not None:
                return io.BytesIO(member.data)
            assert member.stream is not None
            stream = _MemberStream(member.stream, found, archive)
            found = archive = None  # type: ignore[assignment]  # owned by the stream now
            return stream
        raise MediaError(f"no member {display_path(name)!r} in {source.shown}")
    finally:
        if found is not None:
            found.close()  # type: ignore[attr-defined]
        if archive is not None:
            archive.close()


class _MemberStream(io.RawIOBase):
    """A large member, read from the archive as it goes; closing it closes the archive."""

    def __init__(self, inner: BinaryIO, members: Iterator[Member], archive: BinaryIO) -> None:
        self._inner, self._members, self._archive = inner, members, archive
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._members.close()  # type: ignore[attr-defined]
            self._archive.close()
        super().close()
