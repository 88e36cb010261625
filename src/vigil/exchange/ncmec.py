"""NCMEC's hash-sharing API, through python-threatexchange's own client (``NCMECHashAPI``).

Credentials file: ``{"user": ..., "password": ...}``. ``--option environment=`` names
one of the client's environments (``Industry``, ``NGO``, ``LawEnforcement``, ...);
``--url`` replaces the environment's base URL (a test server, a proxy).

Checkpoint, as python-threatexchange keeps it: the end of the last time range fully
fetched, plus the paging URL of a range being fetched (NCMEC returns a range's
entries in no time order, so a partial range is resumed by its paging URL with the
same start and end, and only while the URL is fresh: 12 hours). Partner ids are
``<member id>-<entry id>``; a deleted entry is withdrawn; MD5, SHA-1 and PDQ
fingerprints are kept (NCMEC's others have no Vigil signal type); the entry's
classification becomes its category.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from vigil.errors import InvalidHashError
from vigil.exchange.base import Batch, ExchangeError, Option, SignalExchange, checked_signals
from vigil.store.exchanges import Delta

try:
    from threatexchange.exchanges.clients.ncmec import hash_api as ncmec
except ImportError as exc:  # pragma: no cover - the registry reports it
    raise ImportError(str(exc), name="threatexchange") from exc

#: NCMEC fingerprint names (the entry's XML tags, and the feedback API's types) -> Vigil's.
FINGERPRINTS = {"MD5": "md5", "SHA1": "sha1", "PDQ": "pdq"}
PAGING_TTL = 12 * 3600


class NCMECExchange(SignalExchange):
    """NCMEC's hash-sharing API."""

    options: ClassVar[tuple[Option, ...]] = (
        Option("environment", "string", False, "Industry", "NCMECEnvironment member name."),
    )
    credential_fields: ClassVar[tuple[str, ...]] = ("user", "password")
    needs_url = False
    category_profile = "ncmec-industry"

    def client(self) -> ncmec.NCMECHashAPI:
        """python-threatexchange's client, pointed at ``--url`` when given."""
        creds = self.credentials()
        name = str(self.option("environment", "Industry"))
        try:
            environment = ncmec.NCMECEnvironment[name]
        except KeyError as exc:
            known = ", ".join(e.name for e in ncmec.NCMECEnvironment)
            raise ExchangeError(
                f"unknown NCMEC environment {name!r} ({known})", usage=True
            ) from exc
        api = ncmec.NCMECHashAPI(str(creds["user"]), str(creds["password"]), environment)
        if self.url:
            api._base_url = self.url  # the client takes no base-URL override
        return api

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Pages of one time range, from the stored checkpoint to a few seconds ago."""
        cp = checkpoint or {}
        start = int(cp.get("max_ts", 0))
        paging = cp.get("paging")
        if paging and time.time() - float(paging.get("at", 0)) <= PAGING_TTL:
            start, end, resume = int(paging["start"]), int(paging["end"]), str(paging["next"])
        else:
            end, resume = int(time.time()) - 5, ""
        api = self.client()
        pages = self._pages(api, start, end, resume)
        yield from self.guarded(f"entries from {start} to {end}", pages)

    def _pages(self, api: ncmec.NCMECHashAPI, start: int, end: int, resume: str) -> Iterator[Batch]:
        for n, response in enumerate(
            api.get_entries_iter(start_timestamp=start, end_timestamp=end, resume_paging_url=resume)
        ):
            page = f"entries from {start} to {end}, page {n + 1}"
            deltas = []
            for update in response.updates:
                pid = f"{update.member_id}-{update.id}"
                if update.deleted:
                    deltas.append(Delta(pid, None))
                    continue
                raw = {
                    FINGERPRINTS[k.upper()]: v
                    for k, v in update.fingerprints.items()
                    if k.upper() in FINGERPRINTS
                }
                try:
                    signals = checked_signals(raw, f"entry {pid}")
                except InvalidHashError as exc:
                    raise self.error(page, str(exc)) from exc
                deltas.append(Delta(pid, signals, update.classification))
            checkpoint: dict[str, Any] = (
                {
                    "max_ts": start,
                    "paging": {
                        "start": start,
                        "end": end,
                        "next": response.next,
                        "at": time.time(),
                    },
                }
                if response.next
                else {"max_ts": end}
            )
            yield Batch(deltas, checkpoint, page=page, total=response.estimated_entries_in_range)

    def feedback(
        self, partner_id: str, verdict: str, note: str | None, signals: dict[str, str]
    ) -> None:
        """Upvote (true positive) or downvote (false positive) each fingerprint of the entry."""
        member, _, entry = partner_id.partition("-")
        if not member.isdigit() or not entry:
            raise ExchangeError(
                f"{partner_id!r} is not an NCMEC entry id (member-entry)", usage=True
            )
        api = self.client()
        kind = (
            ncmec.FeedbackType.upvote if verdict == "true-positive" else ncmec.FeedbackType.downvote
        )
        by_type = {v: k for k, v in FINGERPRINTS.items()}
        types = [ncmec.FingerprintType(by_type[t]) for t in signals if t in by_type]
        try:
            for fingerprint in types:
                api.submit_feedback(int(member), entry, fingerprint, kind)
        except Exception as exc:
            raise self.error("feedback", f"{type(exc).__name__}: {exc}"[:500]) from exc
