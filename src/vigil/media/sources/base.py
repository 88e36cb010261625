"""What every evidence source shares: locators, items, and the two source protocols.

Evidence is a layered virtual file system (as in dissect.target's loader -> container
-> volume -> file system). A *root source* turns what the examiner names (a folder, a
file; later a URL) into items. A *container source* wraps one item of any other source
(an archive today; a disk image later) and turns its content into more items. Every
item carries a ``Locator``: the chain of steps from the root to the item, e.g.

    [("file", "/ev/backup.tar"), ("archive", "x/photos.zip", 3), ("archive", "a.jpg", 0)]

A locator is all that is needed to read the item again, later and in another process
(report thumbnails, referral media, review): ``vigil.media.sources.registry.open_locator``
opens the root source named by the first step, wraps it in the container source named
by each later step, and opens the last step. The stream it returns is read-only and
seekable, and every byte comes through ``vigil.media.reader.open_evidence`` at the root.

Locators are small frozen tuples: picklable (workers get them) and exactly
round-tripped as text (``to_text``/``from_text``, JSON with ASCII escapes, so file
names that are not UTF-8, held as lone surrogates, survive any database).

How to add a source (see ``registry.py`` for the one line that registers it):

- a root source (a crawl, ``sources/url.py``): a class with ``kind = "url"``, a
  constructor from what the user gave, ``walk()`` yielding ``EvidenceItem``s whose
  locators start with ``Step("url", address)``, ``open(locator)`` for one-step
  locators, and ``for_locator(locator)`` building the source from a locator alone.
- a container source (a disk image, ``sources/diskimage.py``): a class with
  ``kind = "diskimage"``, ``detect(head, name)`` saying from the first bytes whether
  an item is one, a constructor ``(parent, at, limits, budget, shown=None)``,
  ``walk(stream=None)`` yielding the items inside (locators ``at.child(kind, name,
  index)``; name anything the source can find again: ``p2/inode/1234``) and
  ``open(locator)`` for a locator one step below ``at``, reading the container's bytes
  through ``parent.open(at)``. A format that needs more than the item's bytes (the
  segments ``.E02 ...`` beside a split image's first) reads ``at``: when its root
  step is a ``file``, the segments are found beside that path. Everything above
  (scan, resume, report, referral) works on locators and needs no change.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar, NamedTuple, Protocol

from vigil.errors import MediaError

#: Joins the display paths of nested items: ``backup.tar!/photos.zip!/a.jpg``.
SEPARATOR = "!/"


class LocatorError(MediaError):
    """A locator's text is malformed, or it names a source kind that Vigil does not have."""


def display_path(path: str) -> str:
    r"""A path that can be stored and shown: names that are not UTF-8 get ``\xNN`` escapes.

    File systems allow any bytes in names; Python hands undecodable ones over as lone
    surrogates, which no database or JSON can hold. The real name is kept in the
    item's locator for opening it; this one is for records and reports.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path


class Step(NamedTuple):
    """One step of a locator: the source kind that resolves it, a name, an optional index.

    ``name`` is what that source finds the item by (a real path, a member name);
    ``index`` tells apart items of one container with the same name (a zip may hold
    two members called ``a.jpg``): the member's position, or None for "the first".
    """

    kind: str
    name: str
    index: int | None = None


@dataclass(frozen=True)
class Locator:
    """Where an item is, as a chain of steps from a root source: enough to open it again."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise LocatorError("a locator needs at least one step")

    @classmethod
    def file(cls, path: str | os.PathLike[str]) -> Locator:
        """The locator of a file on the local disk (its real name, not the display one)."""
        return cls((Step("file", os.fspath(path)),))

    @property
    def root(self) -> Step:
        """The first step: the root source and what it was given."""
        return self.steps[0]

    @property
    def parent(self) -> Locator | None:
        """The item that contains this one (None for a root item)."""
        return Locator(self.steps[:-1]) if len(self.steps) > 1 else None

    @property
    def depth(self) -> int:
        """0 for a root item, 1 inside one container, and so on."""
        return len(self.steps) - 1

    def child(self, kind: str, name: str, index: int | None = None) -> Locator:
        """The locator of an item found inside this one."""
        return Locator((*self.steps, Step(kind, name, index)))

    def display(self) -> str:
        """The path shown to people: display names joined with ``!/``."""
        return SEPARATOR.join(display_path(step.name) for step in self.steps)

    def to_text(self) -> str:
        """Exact text form, JSON in ASCII: ``[["file","/ev/a.zip"],["archive","b.jpg",0]]``."""
        return json.dumps(
            [
                [s.kind, s.name] if s.index is None else [s.kind, s.name, s.index]
                for s in self.steps
            ],
            ensure_ascii=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_text(cls, text: str) -> Locator:
        """Parse ``to_text``'s form; LocatorError for anything else."""
        try:
            raw = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise LocatorError(f"not a locator: {text[:80]!r}") from exc
        if not isinstance(raw, list) or not raw:
            raise LocatorError(f"not a locator: {text[:80]!r}")
        return cls(tuple(_step(part, text) for part in raw))


def _step(part: Any, text: str) -> Step:
    ok = (
        isinstance(part, list)
        and len(part) in (2, 3)
        and isinstance(part[0], str)
        and isinstance(part[1], str)
        and (len(part) == 2 or (isinstance(part[2], int) and not isinstance(part[2], bool)))
    )
    if not ok:
        raise LocatorError(f"not a locator step: {part!r} in {text[:80]!r}")
    return Step(*part)


@dataclass
class EvidenceItem:
    """One entry of the evidence: a file on disk, an archive member, or a recorded oddity.

    ``data`` or ``stream`` hold an inner item's content while it is being walked (a
    stream must be read before the next item is taken); ``locator`` opens it again
    later. Items that are only a record (a failure to list a folder) have no locator.
    """

    path: str  # display path; inside containers joined with "!/"
    container: str | None = None  # the innermost container's display path, if any
    depth: int = 0  # 0 at the root, 1 inside an archive, 2 inside an archive in an archive...
    kind: str = "file"  # file, symlink, fifo, socket, character device, block device, ...
    size: int | None = None
    mtime: float | None = None
    ctime: float | None = None
    atime: float | None = None
    fs_path: str | None = None  # the real path, for items on the local disk
    data: bytes | None = None  # content of an inner item held in memory
    stream: BinaryIO | None = None  # content of a large inner item: read once, before the next
    link_target: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    locator: Locator | None = None


class Source(Protocol):
    """A root source: yields items and opens any item it yielded by its locator."""

    kind: ClassVar[str]

    def walk(self) -> Iterator[EvidenceItem]:
        """Every item, in a stable order (the same on every run: resume depends on it)."""
        ...

    def open(self, locator: Locator) -> BinaryIO:
        """The item's content, read-only and seekable; MediaError when it cannot be read."""
        ...


class ContainerSource(Source, Protocol):
    """A source inside one item of another source (an archive; later a disk image).

    Constructed as ``cls(parent, at, limits, budget, shown=None)``: ``parent`` is the
    source that opens the container item at locator ``at``; ``limits`` and ``budget``
    (``vigil.media.archives``) bound what one piece of evidence may expand to, shared
    across nesting levels.
    """

    @classmethod
    def detect(cls, head: bytes, name: str) -> bool:
        """Whether an item whose content starts with ``head`` is one of these containers."""
        ...

    def walk(self, stream: BinaryIO | None = None) -> Iterator[EvidenceItem]:  # type: ignore[override]
        """The items directly inside; ``stream``: the container's content, if already open."""
        ...
