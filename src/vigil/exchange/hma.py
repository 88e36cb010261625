"""Pull a bank from a Hasher-Matcher-Actioner (HMA) instance through HMA's own routes.

HMA has no change feed and no listing of a bank's content; what it has is
``GET /c/bank/<bank>/content/<id>?include_signals=true`` for one content id, with
ids handed out in sequence. So a pull (1) re-reads every content id this exchange
holds (gone or disabled: withdrawn; changed: updated), then (2) walks the ids above
the highest one seen until ``gap`` ids in a row are not in the bank. The checkpoint
is the highest content id found. Cost: one request per held item per pull, which
suits the bank sizes HMA serves; set ``--option gap=N`` higher for sparse banks
(content ids are shared by all of an HMA's banks).

HMA's ``video_md5`` is an MD5 (Vigil's ``md5``). ``push`` adds a set's PDQ and MD5
hashes to the bank (``POST /c/bank/<bank>/signal``). An API key in the credentials
file (``{"api_key": ...}``) is sent when given (Vigil serving HMA's routes needs one).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from vigil.errors import InvalidHashError
from vigil.exchange.base import Batch, Option, SignalExchange, checked_signals
from vigil.exchange.http import request_json
from vigil.hashsets.model import Entry
from vigil.store.exchanges import Delta, chunks

_REVALIDATE = 200
_PAGE = 500


class HMAExchange(SignalExchange):
    """One bank of an HMA instance."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("bank", "string", True, None, "The HMA bank to pull."),
        Option("gap", "number", False, 100, "Missing content ids in a row that end a walk."),
    )

    def _headers(self) -> dict[str, str]:
        key = self.credentials().get("api_key")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _content(self, cid: int, headers: dict[str, str]) -> Delta | None:
        """The delta for one content id; None when the bank does not hold it."""
        bank = urllib.parse.quote(str(self.option("bank")))
        page = f"content {cid}"
        data = request_json(
            "GET",
            f"{self.url}/c/bank/{bank}/content/{cid}?include_signals=true",
            who=self.name,
            page=page,
            headers=headers,
            allow_404=True,
        )
        if data is None:
            return None
        if not isinstance(data, dict) or data.get("id") != cid:
            raise self.error(page, "not an HMA content object for that id")
        # HMA's disable_until_ts: 1 enabled, 0 disabled, else disabled until that time.
        until = data.get("disable_until_ts", 1)
        if not isinstance(until, int | float) or until == 0 or until > max(time.time(), 1):
            return Delta(str(cid), None)
        raw = dict(data.get("signals") or {})
        if "video_md5" in raw:
            raw["md5"] = raw.pop("video_md5")
        try:
            signals = checked_signals(raw, page)
        except InvalidHashError as exc:
            raise self.error(page, str(exc)) from exc
        meta = {k: data[k] for k in ("note", "metadata") if data.get(k)}
        return Delta(str(cid), signals, None, meta or None)

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Re-read held ids, then walk new ones."""
        headers = self._headers()
        top = int((checkpoint or {}).get("max_id", 0))
        held = sorted(int(i) for i in self.known_ids() if i.isdigit())
        for group in chunks(held, _REVALIDATE):
            deltas = [self._content(cid, headers) or Delta(str(cid), None) for cid in group]
            yield Batch(deltas, {"max_id": top}, page=f"re-reading ids {group[0]}-{group[-1]}")
        gap = int(self.option("gap", 100))
        cid, misses, found = top, 0, []
        while misses < gap:
            cid += 1
            delta = self._content(cid, headers)
            if delta is None:
                misses += 1
                continue
            misses = 0
            top = cid
            found.append(delta)
            if len(found) == _PAGE:
                yield Batch(found, {"max_id": top}, page=f"ids up to {top}")
                found = []
        yield Batch(found, {"max_id": top}, page=f"ids up to {top}")

    def push(self, entries: Iterable[Entry]) -> int:
        """Add each entry's PDQ and MD5 to the bank; return how many entries were sent."""
        headers = self._headers()
        bank = urllib.parse.quote(str(self.option("bank")))
        sent = 0
        for entry in entries:
            hashes = entry.hashes()
            body = {k: hashes[v] for k, v in (("pdq", "pdq"), ("video_md5", "md5")) if v in hashes}
            if not body:
                continue
            request_json(
                "POST",
                f"{self.url}/c/bank/{bank}/signal",
                who=self.name,
                page=f"entry {sent}",
                headers=headers,
                body=body,
            )
            sent += 1
        return sent
