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
from vigil.media.archives import (
    ArchiveLimits,
    Budget,
    Member,
    is_archive,
    members,
    stream_head,
    unsupported_archive,
)
from vigil.media.names import name_note
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
        """Whether content starting with ``head`` is an archive (one Vigil reads, or not).

        Archives of a format Vigil does not read are claimed too, so that they become an
        item "not examined" instead of passing for a plain file.
        """
        mime = sniff(head)
        return is_archive(mime) or unsupported_archive(mime) is not None

    def walk(self, stream: BinaryIO | None = None) -> Iterator[EvidenceItem]:
        """The members, in the archive's order; a corrupt archive ends in one error item."""
        depth = self.at.depth + 1
        try:
            own = stream is None
            if stream is None:
                stream = self.parent.open(self.at)
            try:
                for index, member in enumerate(self._members(stream, self.budget)):
                    item = self._item(member, index, depth)
                    head = stream_head(item.stream) if item.stream is not None else b""
                    yield item
                    if item.stream is not None and item.error is None:
                        yield from _large_archive(item, head, self.limits)
            finally:
                if own:
                    stream.close()
        except _UnsupportedError as exc:
            yield self._failure(depth, str(exc))
        except Exception as exc:  # a corrupt or hostile archive: keep what was read
            yield self._failure(depth, f"cannot read archive: {describe(exc)}")

    def _failure(self, depth: int, error: str) -> EvidenceItem:
        """The error item of this archive as a whole (what was read before it stays)."""
        return EvidenceItem(
            path=self.shown + SEPARATOR,
            container=self.shown,
            depth=depth,
            kind="other",
            error=error,
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
        if (unsupported := unsupported_archive(mime)) is not None:
            raise _UnsupportedError(
                f"{unsupported} archive: format not supported, not opened, content not examined"
            )
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
            notes=[*member.notes, *name_note(member.name)],
            locator=self.at.child(self.kind, member.name, index) if member.name else None,
        )


class _UnsupportedError(MediaError):
    """An archive of a format Vigil recognises but does not read."""


def _large_archive(
    item: EvidenceItem, head: bytes, limits: ArchiveLimits
) -> Iterator[EvidenceItem]:
    """The error item of an archive member too large to open in memory (never silent)."""
    mime = sniff(head)
    if is_archive(mime) or unsupported_archive(mime) is not None:
        yield EvidenceItem(
            path=item.path + SEPARATOR,
            container=item.path,
            depth=item.depth + 1,
            kind="other",
            error=f"archive member over {limits.memory_member_bytes:,} bytes: nested archives "
            "this large are not opened, content not examined",
        )


def _open_member(source: ArchiveSource, name: str, index: int | None) -> BinaryIO:
    """The member (by position and name, or the first of that name), read-only and seekable.

    A member held in memory comes back as a BytesIO. A member over
    ``ArchiveLimits.memory_member_bytes`` is never held in memory and nothing is written
    to disk: it is read from the archive as it goes, and a backward seek reads it again
    from the archive's start (a cost in time only, for the rare reader that seeks back).
    """
    opened = _locate(source, name, index)
    if isinstance(opened, bytes):
        return io.BytesIO(opened)
    return io.BufferedReader(_MemberStream(source, name, index, opened), 1 << 20)  # type: ignore[return-value]


_Located = tuple[BinaryIO, Iterator[Member], BinaryIO]


def _locate(source: ArchiveSource, name: str, index: int | None) -> bytes | _Located:
    """The member's bytes, or (its stream, the open member iterator, the open archive)."""
    archive = source.parent.open(source.at)
    found = source._members(archive, Budget(source.limits.max_total_bytes))
    keep = False
    try:
        for position, member in enumerate(found):
            if member.name != name or (index is not None and position != index):
                continue
            if member.error:
                raise MediaError(member.error)
            if member.kind != "file":
                raise MediaError(f"not a regular file ({member.kind})")
            if member.data is not None:
                return member.data
            assert member.stream is not None
            keep = True  # the caller reads the stream, then closes both
            return member.stream, found, archive
        raise MediaError(f"no member {display_path(name)!r} in {source.shown}")
    finally:
        if not keep:
            found.close()  # type: ignore[attr-defined]
            archive.close()


class _MemberStream(io.RawIOBase):
    """A large member, read from the archive as it goes; closing it closes the archive."""

    def __init__(
        self, source: ArchiveSource, name: str, index: int | None, opened: _Located
    ) -> None:
        self._source, self._name, self._index = source, name, index
        self._inner, self._members, self._archive = opened
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            self._skip(1 << 62)  # the end is known only by reading to it
            offset += self._pos
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence: {whence}")
        if offset < 0:
            raise ValueError("negative seek position")
        if offset < self._pos:
            self._release()
            opened = _locate(self._source, self._name, self._index)
            assert not isinstance(opened, bytes)
            self._inner, self._members, self._archive = opened
            self._pos = 0
        self._skip(offset - self._pos)
        return self._pos

    def _skip(self, n: int) -> None:
        while n > 0 and (chunk := self._inner.read(min(n, 1 << 20))):
            self._pos += len(chunk)
            n -= len(chunk)

    def _release(self) -> None:
        self._members.close()  # type: ignore[attr-defined]
        self._archive.close()

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()
