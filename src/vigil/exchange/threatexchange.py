"""Meta's ThreatExchange, through python-threatexchange's own client (``ThreatExchangeAPI``).

Credentials file: ``{"api_token": "<app id>|<secret>"}``; ``--option
privacy_group=ID`` names the group whose ``/threat_updates`` are pulled; ``--url``
replaces the Graph API's base URL. Updates are keyed by ThreatExchange's indicator
id; ``should_delete`` withdraws one. ``HASH_MD5``, ``HASH_SHA1``, ``HASH_SHA256`` and
``HASH_PDQ`` indicators are kept. Checkpoint: the end of the last range fetched, plus
the paging URL inside one. Feedback (reactions) needs descriptor ids that
``/threat_updates`` does not give, so this type takes none.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from vigil.errors import InvalidHashError
from vigil.exchange.base import Batch, Option, SignalExchange, checked_signals
from vigil.store.exchanges import Delta

try:
    import requests
    from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
except ImportError as exc:  # pragma: no cover - the registry reports it
    raise ImportError(str(exc), name="threatexchange") from exc

#: Seconds to wait for an answer (the client's own GET has no timeout: it would hang).
TIMEOUT = 60.0


class _ThreatExchangeAPI(ThreatExchangeAPI):
    """python-threatexchange's client, its one GET given a timeout."""

    def get_json_from_url(self, url: str, params: Any = None, *, json_obj_hook: Any = None) -> Any:
        """As the client's, with a timeout."""
        response = requests.get(url, params=params or {}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json(object_hook=json_obj_hook)


TYPES = {"HASH_MD5": "md5", "HASH_SHA1": "sha1", "HASH_SHA256": "sha256", "HASH_PDQ": "pdq"}
FIELDS = ("id", "indicator", "type", "last_updated", "should_delete", "tags")


class ThreatExchangeExchange(SignalExchange):
    """One ThreatExchange privacy group."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("privacy_group", "number", True, None, "The privacy group to pull."),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("api_token",)
    needs_url = False

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Pages of ``/threat_updates`` from the stored time (or paging URL)."""
        cp = checkpoint or {}
        if cp.get("next"):
            start, end = int(cp["start"]), int(cp["end"])
        else:
            start, end = int(cp.get("start", 0)), int(time.time())
        yield from self.guarded(f"updates from {start} to {end}", self._pages(cp, start, end))

    def _pages(self, cp: dict[str, Any], start: int, end: int) -> Iterator[Batch]:
        api = _ThreatExchangeAPI(
            str(self.credentials()["api_token"]), endpoint_override=self.url or None
        )
        cursor = api.get_threat_updates(
            int(self.option("privacy_group")),
            start_time=start,
            stop_time=end,
            page_size=500,
            fields=FIELDS,
        )
        if cp.get("next"):
            cursor.next_url = str(cp["next"])
            cursor.params.clear()
        n = 0
        while not cursor.done:
            n += 1
            page = f"updates from {start} to {end}, page {n}"
            deltas = []
            for update in cursor.next():
                pid = str(update["id"])
                if update.get("should_delete"):
                    deltas.append(Delta(pid, None))
                    continue
                kind = TYPES.get(str(update.get("type")))
                if kind is None:
                    continue
                try:
                    signals = checked_signals({kind: str(update["indicator"])}, f"indicator {pid}")
                except InvalidHashError as exc:
                    raise self.error(page, str(exc)) from exc
                deltas.append(Delta(pid, signals))
            checkpoint: dict[str, Any] = (
                {"start": end}
                if cursor.done
                else {"start": start, "end": end, "next": cursor.next_url}
            )
            yield Batch(deltas, checkpoint, page=page)
