"""A hash list in a file (or on a mounted share) that a partner replaces now and then.

Like python-threatexchange's ``LocalFileSignalExchangeAPI``: the file is the partner's
whole list, so each change is a full snapshot; ids are digests of each entry's hashes,
so a re-sent list changes nothing, and an entry gone from the file is withdrawn. The
file may be in any format ``vigil hashset import`` reads (detected from content). The
checkpoint is the file's SHA-256: an unchanged file is not read again. ``push``
writes the set to the file, in the format named by ``--option format=`` (default csv).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from vigil.errors import VigilError
from vigil.exchange.base import Batch, ExchangeError, Option, SignalExchange
from vigil.fsutil import atomic_path
from vigil.hashsets.formats import detect_format, get_format
from vigil.hashsets.formats.base import ReadContext
from vigil.hashsets.model import Entry, HashSetInfo, Rejected, expand
from vigil.store.exchanges import STORED_SIGNALS, Delta, item_id


def file_path(url: str) -> Path:
    """A ``file://`` URL or a plain path."""
    return Path(url.removeprefix("file://"))


class FileExchange(SignalExchange):
    """A partner's list as a file."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("format", "string", False, None, "Format of the file (default: detected)."),
    )

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """One full snapshot when the file changed, else nothing."""
        path = file_path(self.url)
        page = f"file {path}"
        try:
            with path.open("rb") as handle:
                sha = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise self.error(page, f"cannot read: {exc.strerror}") from exc
        if checkpoint is not None and checkpoint.get("sha256") == sha:
            return
        if path.stat().st_size == 0:
            # A list being rewritten in place, most likely: never read as "withdraw all".
            raise self.error(page, "the file is empty (nothing withdrawn; pull again later)")
        try:
            fmt = get_format(self.option("format") or detect_format(path))
            deltas = {}
            for item in expand(fmt.read(ReadContext(path))):
                if isinstance(item, Rejected):
                    raise self.error(page, f"bad record at {item.location}: {item.reason}")
                signals = {t: v for t, v in item.hashes().items() if t in STORED_SIGNALS}
                if signals:
                    pid = item_id(signals)
                    deltas[pid] = Delta(pid, signals, item.category)
        except ExchangeError:
            raise
        except VigilError as exc:
            raise self.error(page, str(exc)) from exc
        yield Batch(list(deltas.values()), {"sha256": sha}, page=page, full_snapshot=True)

    def push(self, entries: Iterable[Entry]) -> int:
        """Write the entries to the file, atomically."""
        path = file_path(self.url)
        fmt = get_format(self.option("format") or "csv")
        info = HashSetInfo(name=self.exchange.into_set)
        with atomic_path(path, mode=0o644) as tmp, tmp.open("wb") as handle:
            return fmt.write(entries, handle, info)
