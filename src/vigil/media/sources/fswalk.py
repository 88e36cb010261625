"""Walking one file system of a disk image, and the facts each item carries.

``FsWalker`` lists a file system in tree order through TSK: folders (with loops and
depth bounded), regular files and, on NTFS, their alternate data streams as items of
their own, deleted entries (name or metadata unallocated) marked so, other entries
recorded without content. With carving it remembers the blocks allocated files and
folders occupy, so that the rest can be carved.

What the results need about an item (partition, file system, inode, deleted, a carved
object's offset) travels in one note, ``disk image: partition=p2 filesystem=NTFS ...``,
written by ``facts_note`` and read back by ``image_facts``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from vigil.errors import MediaError
from vigil.media.sources.base import SEPARATOR, EvidenceItem, display_path
from vigil.media.sources.tsk import Volume, fs_name, pytsk3

#: Bounds against hostile file systems.
MAX_ENTRIES = 50_000_000
MAX_DIR_DEPTH = 512
FACTS_PREFIX = "disk image: "
#: The results fields of items inside disk images (``image_facts``).
IMAGE_FIELDS = ("deleted", "partition", "filesystem", "inode", "offset")


def facts_note(**facts: Any) -> str:
    """The note holding an item's image facts: ``disk image: partition=p2 inode=64 ...``."""
    return FACTS_PREFIX + " ".join(
        f"{k}={str(v).replace(' ', '_')}" for k, v in facts.items() if v is not None
    )


def image_facts(notes: list[str]) -> dict[str, Any]:
    """The fields ``deleted``, ``partition``, ``filesystem``, ``inode``, ``offset`` of an item.

    Read back from its notes (all None for an item not inside a disk image).
    """
    out: dict[str, Any] = dict.fromkeys(IMAGE_FIELDS)
    for note in notes:
        if not note.startswith(FACTS_PREFIX):
            continue
        for pair in note[len(FACTS_PREFIX) :].split():
            key, _, value = pair.partition("=")
            if key == "deleted":
                out["deleted"] = value == "true"
            elif key == "offset":
                out["offset"] = int(value)
            elif key in ("partition", "inode"):
                out[key] = value
            elif key == "filesystem":
                out[key] = value.replace("_", " ")
        if out["deleted"] is None and out["inode"] is not None:
            out["deleted"] = False
    return out


class FsWalker:
    """One file system's entries in tree order, with loop and size bounds."""

    def __init__(self, source: Any, fs: Any, volume: Volume, prefix: str, depth: int) -> None:
        self.source, self.fs, self.volume, self.prefix, self.depth = (
            source,
            fs,
            volume,
            prefix,
            depth,
        )
        self.fs_type = fs_name(fs)
        self.count = 0
        self.tsk = pytsk3()
        self.block = int(fs.info.block_size)
        self.blocks = int(fs.info.block_count)
        self.allocated: list[tuple[int, int]] = []
        self.seen_dirs: set[int] = set()

    def walk(self) -> Iterator[EvidenceItem]:
        """Every entry from the root folder down."""
        root = self.fs.open_dir(inode=int(self.fs.info.root_inum))
        yield from self._dir(root, "", frozenset({int(self.fs.info.root_inum)}), 0, False)

    def _dir(
        self, directory: Any, path: str, ancestors: frozenset[int], level: int, deleted: bool
    ) -> Iterator[EvidenceItem]:
        tsk = self.tsk
        entries = []
        for entry in directory:
            name = entry.info.name
            if name is None:
                continue
            raw = name.name
            if raw in (b".", b".."):
                continue
            entries.append(entry)
        for entry in entries:
            self.count += 1
            if self.count > MAX_ENTRIES:
                raise MediaError(f"more than {MAX_ENTRIES:,} entries: a hostile file system?")
            name_info = entry.info.name
            leaf = name_info.name.decode("utf-8", "surrogateescape")
            meta = entry.info.meta
            gone = deleted or bool(name_info.flags & tsk.TSK_FS_NAME_FLAG_UNALLOC)
            child = f"{path}{leaf}"
            if meta is None:
                if gone and not deleted:  # a deleted name in a folder, its metadata gone
                    yield self._item(
                        child, None, "file", gone, error="deleted: its metadata is gone"
                    )
                continue  # orphan entries without metadata hold nothing to scan
            mtype = meta.type
            addr = int(meta.addr)
            meta_gone = bool(meta.flags & tsk.TSK_FS_META_FLAG_UNALLOC)
            if gone and not meta_gone and mtype == tsk.TSK_FS_META_TYPE_REG:
                yield self._item(
                    child, entry, "file", True,
                    error="deleted: its metadata entry now belongs to another file",
                )  # fmt: skip
                continue
            gone = gone or meta_gone
            if mtype in (tsk.TSK_FS_META_TYPE_DIR, tsk.TSK_FS_META_TYPE_VIRT_DIR):
                orphans = mtype == tsk.TSK_FS_META_TYPE_VIRT_DIR
                if not gone:
                    self._runs(entry)
                if addr in ancestors or addr in self.seen_dirs:
                    yield self._item(
                        child, entry, "directory", gone, error="folder loop: not walked again"
                    )
                    continue
                if level + 1 > MAX_DIR_DEPTH:
                    yield self._item(
                        child, entry, "directory", gone, error="folders nested too deep"
                    )
                    continue
                self.seen_dirs.add(addr)
                try:
                    sub = entry.as_directory()
                except OSError as exc:
                    if not gone:
                        yield self._item(
                            child, entry, "directory", gone, error=f"cannot list folder: {exc}"
                        )
                    continue
                yield from self._dir(
                    sub, child + "/", ancestors | {addr}, level + 1, gone or orphans
                )
            elif mtype == tsk.TSK_FS_META_TYPE_REG:
                if int(meta.size) == 0 and leaf.endswith("(Volume Label Entry)"):
                    continue  # TSK's view of a FAT/exFAT volume label
                if int(meta.size) == 0 and self.fs_type == "NTFS" and leaf.startswith("$"):
                    continue  # NTFS metadata whose content is not in a $DATA stream
                if gone and int(meta.size) == 0:
                    continue  # an empty deleted or orphan entry holds nothing to scan
                if not gone:
                    self._runs(entry)
                yield from self._file_items(child, entry, gone)
            elif mtype == tsk.TSK_FS_META_TYPE_VIRT:
                continue  # TSK's own views ($MBR, $FAT1): not files of the evidence
            else:
                kind = {
                    tsk.TSK_FS_META_TYPE_LNK: "symlink",
                    tsk.TSK_FS_META_TYPE_FIFO: "fifo",
                    tsk.TSK_FS_META_TYPE_SOCK: "socket",
                    tsk.TSK_FS_META_TYPE_CHR: "character device",
                    tsk.TSK_FS_META_TYPE_BLK: "block device",
                }.get(mtype, "other")
                item = self._item(child, entry, kind, gone)
                item.notes.append(f"{kind}: recorded, not read")
                yield item

    def _file_items(self, path: str, entry: Any, deleted: bool) -> Iterator[EvidenceItem]:
        tsk = self.tsk
        yield self._item(path, entry, "file", deleted)
        if self.fs_type != "NTFS":
            return
        for attr in entry:
            if attr.info.type == tsk.TSK_FS_ATTR_TYPE_NTFS_DATA and attr.info.name:
                stream = attr.info.name.decode("utf-8", "surrogateescape")
                if stream == "$Bad":
                    continue
                item = self._item(
                    f"{path}:{stream}", entry, "file", deleted, size=int(attr.info.size)
                )
                item.notes.append("NTFS alternate data stream")
                yield item

    def _item(
        self,
        path: str,
        entry: Any,
        kind: str,
        deleted: bool,
        *,
        error: str | None = None,
        size: int | None = None,
    ) -> EvidenceItem:
        meta = entry.info.meta if entry is not None else None
        name = f"{self.prefix}{path}"
        addr = int(meta.addr) if meta is not None else None
        item = EvidenceItem(
            path=f"{self.source.shown}{SEPARATOR}{display_path(name)}",
            container=self.source.shown,
            depth=self.depth,
            kind=kind,
            size=(size if size is not None else int(meta.size))
            if meta is not None and kind == "file"
            else None,
            mtime=_time(meta, "mtime"),
            ctime=_time(meta, "ctime"),
            atime=_time(meta, "atime"),
            error=error,
            notes=[
                facts_note(
                    partition=self.volume.name or None,
                    filesystem=self.fs_type,
                    inode=addr,
                    deleted="true" if deleted else None,
                )
            ],
            locator=self.source.at.child(self.source.kind, name, addr)
            if addr is not None and error is None and kind == "file"
            else None,
        )
        if display_path(name) != name:
            item.notes.append("file name is not valid UTF-8: shown with \\x escapes")
        if deleted:
            item.notes.append("deleted file: content as The Sleuth Kit recovers it")
        if item.size is not None and item.size > self.volume.length and item.error is None:
            item.error = (
                f"claims {item.size:,} bytes, more than its partition holds "
                f"({self.volume.length:,}): not read"
            )
            item.locator = None
        return item

    def _runs(self, entry: Any) -> None:
        """Remember the blocks an allocated file or folder occupies (for carving)."""
        if not self.source.carve:
            return
        tsk = self.tsk
        for attr in entry:
            if not attr.info.flags & tsk.TSK_FS_ATTR_NONRES:
                continue
            for run in attr:
                if run.flags & (tsk.TSK_FS_ATTR_RUN_FLAG_SPARSE | tsk.TSK_FS_ATTR_RUN_FLAG_FILLER):
                    continue
                self.allocated.append((int(run.addr), int(run.len)))

    def unallocated(self) -> Iterator[tuple[int, int]]:
        """Image extents (offset, length) of blocks in no allocated file or folder."""
        base = self.volume.offset
        pos = 0
        for start, length in sorted(self.allocated):
            if start > pos:
                yield base + pos * self.block, (min(start, self.blocks) - pos) * self.block
            pos = max(pos, start + length)
            if pos >= self.blocks:
                return
        if pos < self.blocks:
            yield base + pos * self.block, (self.blocks - pos) * self.block


def _time(meta: Any, name: str) -> float | None:
    if meta is None:
        return None
    value = getattr(meta, name, 0)
    if not value:
        return None
    nano = getattr(meta, f"{name}_nano", 0) or 0
    return float(value) + nano / 1e9
