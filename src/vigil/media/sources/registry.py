"""The registry of evidence sources, and detect-then-open over them.

Two explicit tables, filled by one line per source and imported lazily (a source
whose optional dependency is missing fails alone, with its reason, when used):

- ``ROOT_SOURCES``: what a locator's first step names (``file``; later ``url``);
- ``CONTAINER_SOURCES``: what an item may turn out to hold, tried in order on its
  first bytes (``archive``; later ``diskimage``).

``walk`` lists evidence; ``expand`` opens an item's content as whichever container it
is, nested to the archive limits' depth; ``open_locator`` re-opens any item from its
locator alone, in any process. ``locator_of`` rebuilds a locator for rows recorded
before locators were stored.
"""

from __future__ import annotations

import importlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from vigil.errors import MediaError, describe
from vigil.media.archives import ArchiveLimits, Budget
from vigil.media.sniff import HEAD_SIZE
from vigil.media.sources.base import (
    SEPARATOR,
    EvidenceItem,
    Locator,
    LocatorError,
    Source,
    Step,
)

#: Root sources by locator kind: "module:Class" (imported on first use).
ROOT_SOURCES: dict[str, str] = {
    "file": "vigil.media.sources.folder:FolderSource",
}
#: Container sources by locator kind, in the order they are tried on an item's content.
CONTAINER_SOURCES: dict[str, str] = {
    "archive": "vigil.media.sources.archive:ArchiveSource",
    "diskimage": "vigil.media.sources.diskimage:DiskImageSource",
}


def _load(table: dict[str, str], kind: str, what: str) -> Any:
    try:
        module, name = table[kind].split(":")
    except KeyError:
        raise LocatorError(f"unknown {what} source kind {kind!r}") from None
    return getattr(importlib.import_module(module), name)


def root_source(kind: str) -> Any:
    """The root source class for locators whose first step is of ``kind``."""
    return _load(ROOT_SOURCES, kind, "root")


def container_source(kind: str) -> Any:
    """The container source class for steps of ``kind``."""
    return _load(CONTAINER_SOURCES, kind, "container")


def source_for(locator: Locator, limits: ArchiveLimits | None = None) -> Source:
    """The source that opens ``locator``: its root source wrapped once per inner step."""
    limits = limits or ArchiveLimits()
    source: Source = root_source(locator.root.kind).for_locator(locator)
    budget = Budget(limits.max_total_bytes)
    for depth in range(1, len(locator.steps)):
        cls = container_source(locator.steps[depth].kind)
        source = cls(source, Locator(locator.steps[:depth]), limits, budget)
    return source


def open_locator(locator: Locator, limits: ArchiveLimits | None = None) -> BinaryIO:
    """The content of the item at ``locator``, read-only; MediaError when it cannot be read."""
    return source_for(locator, limits).open(locator)


def detect(head: bytes, name: str) -> Any | None:
    """The container source class whose format ``head`` (an item's first bytes) is, if any."""
    for kind in CONTAINER_SOURCES:
        cls = container_source(kind)
        if cls.detect(head, name):
            return cls
    return None


def walk(
    roots: list[Path], limits: ArchiveLimits | None = None, *, expand: bool = True
) -> Iterator[EvidenceItem]:
    """Every item under the roots (files or folders), in a stable order.

    With ``expand`` containers are opened and their items follow them (depth first);
    without it only what is on disk is listed, and ``expand`` opens one item later
    (in a worker).
    """
    limits = limits or ArchiveLimits()
    source = root_source("file")(roots)
    for item in source.walk():
        yield item
        if expand and item.kind == "file" and item.depth == 0 and item.size:
            yield from expand_item(source, item, limits)


def expand_item(
    parent: Source,
    item: EvidenceItem,
    limits: ArchiveLimits | None = None,
    *,
    stream: BinaryIO | None = None,
    budget: Budget | None = None,
) -> Iterator[EvidenceItem]:
    """The items inside ``item`` of ``parent`` (nothing if it holds none), recursively.

    ``stream`` is the item's content if the caller has it open (it is read from the
    start); otherwise the item is opened through ``parent``. Nested containers are read
    from the inner item's bytes in memory, never re-opened from the root.
    """
    limits = limits or ArchiveLimits()
    if item.locator is None:
        return
    budget = budget or Budget.for_source(limits, item.size)
    own = stream is None
    try:
        if stream is None:
            stream = parent.open(item.locator)
        head = stream.read(HEAD_SIZE)
        stream.seek(0)
        cls = detect(head, item.locator.steps[-1].name)
    except Exception as exc:  # the item itself was recorded; record the failure
        if stream is not None and own:
            stream.close()
        yield _failed(item, exc)
        return
    try:
        if cls is not None and limits.max_depth < 1:
            yield _failed(item, None, "archives are not opened (depth limit 0)")
        elif cls is not None:
            yield from _expand(
                cls(parent, item.locator, limits, budget, item.path), stream, limits, budget
            )
    finally:
        if own:
            stream.close()


def _expand(
    container: Any, stream: BinaryIO, limits: ArchiveLimits, budget: Budget
) -> Iterator[EvidenceItem]:
    for inner in container.walk(stream):
        yield inner
        if inner.error or inner.kind != "file" or inner.data is None or inner.locator is None:
            continue
        cls = detect(inner.data[:HEAD_SIZE], inner.locator.steps[-1].name)
        if cls is None:
            continue
        if inner.depth >= limits.max_depth:
            yield _failed(inner, None, f"archive nested deeper than {limits.max_depth} levels")
            continue
        nested = cls(container, inner.locator, limits, budget, inner.path)
        yield from _expand(nested, io.BytesIO(inner.data), limits, budget)


def _failed(item: EvidenceItem, exc: BaseException | None, why: str = "") -> EvidenceItem:
    """The error item of a container that was not opened: its content was not examined."""
    return EvidenceItem(
        path=item.path + SEPARATOR,
        container=item.path,
        depth=item.depth + 1,
        kind="other",
        error=f"{why}: not opened, content not examined"
        if exc is None
        else f"cannot read archive: {describe(exc)}",
    )


_ESCAPE = re.compile(rb"\\x([0-9a-f]{2})")


def _real_name(shown: str) -> str:
    r"""Undo ``display_path``'s ``\xNN`` escapes (best effort: a name may hold them literally)."""
    if "\\x" not in shown:
        return shown
    return os.fsdecode(_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), shown.encode("utf-8")))


def locator_of(path: str, source: str, locator: str | None = None) -> Locator | None:
    """An item's locator: parsed from its stored text, or rebuilt from its paths.

    Rows recorded before locators were stored hold only display paths: ``source`` (the
    file on disk) and ``path`` (``source!/member!/inner``). Rebuilding undoes the
    display escapes, preferring the name that exists on disk, and finds members by
    name (the first of that name): right for every archive without duplicate member
    names or ``!/`` inside a member name.
    """
    if locator:
        return Locator.from_text(locator)
    if not source or not (path == source or path.startswith(source + SEPARATOR)):
        return None
    root = source
    if not os.path.lexists(root) and os.path.lexists(_real_name(root)):
        root = _real_name(root)
    steps = [Step("file", root)]
    if path != source:
        names = path[len(source) + len(SEPARATOR) :].split(SEPARATOR)
        if not all(names):  # "a.zip!/": the record of a failure, not an item
            return None
        steps.extend(Step("archive", _real_name(name)) for name in names)
    return Locator(tuple(steps))


#: What ``read_locator`` reads at most by default: the image decoding limit of hashing.
DEFAULT_MAX_READ_BYTES = 512 * 1024 * 1024


def read_locator(
    locator: Locator,
    max_bytes: int = DEFAULT_MAX_READ_BYTES,
    limits: ArchiveLimits | None = None,
) -> bytes:
    """The whole content of the item at ``locator``; MediaError if over ``max_bytes``.

    For the few items a report or a referral shows or carries: content in memory,
    read-only at the root, with a bound so that a huge item cannot exhaust memory.
    """
    data = bytearray()
    with open_locator(locator, limits) as stream:
        while chunk := stream.read(min(1 << 24, max_bytes + 1 - len(data))):
            data += chunk
            if len(data) > max_bytes:
                raise MediaError(f"item over {max_bytes:,} bytes: not read into memory")
    return bytes(data)
