"""StopNCII.org's hash API, through python-threatexchange's own client (``StopNCIIAPI``).

Credentials file: ``{"subscription_key": ..., "fetch_function_key": ...}`` plus
``submit_function_key`` (push) and ``feedback_function_key`` (feedback). ``--url``
replaces the API's base URL. Records are snapshots of one hash: a record whose status
is Withdrawn or Deleted withdraws it. Partner ids are ``<signal type>:<hash>``;
``ImagePDQ`` is Vigil's ``pdq``, ``VideoMD5`` its ``md5``; other types are skipped.
Checkpoint: the API's ``nextSetTimestamp``, plus the page token inside a fetch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from vigil.errors import InvalidHashError
from vigil.exchange.base import Batch, SignalExchange, checked_signals
from vigil.hashsets.model import Entry
from vigil.store.exchanges import Delta

try:
    from threatexchange.exchanges.clients.stopncii import api as stopncii
except ImportError as exc:  # pragma: no cover - the registry reports it
    raise ImportError(str(exc), name="threatexchange") from exc

TYPES = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
GONE = {"Withdrawn", "Deleted"}


class StopNCIIExchange(SignalExchange):
    """StopNCII.org."""

    credential_fields: ClassVar[tuple[str, ...]] = ("subscription_key", "fetch_function_key")
    needs_url = False

    def client(self) -> stopncii.StopNCIIAPI:
        """python-threatexchange's client with every function key the credentials give."""
        creds = self.credentials()
        extra = {
            endpoint: str(creds[field])
            for endpoint, field in (
                (stopncii.StopNCIIEndpoint.SubmitHashes, "submit_function_key"),
                (stopncii.StopNCIIEndpoint.SubmitFeedback, "feedback_function_key"),
            )
            if creds.get(field)
        }
        return stopncii.StopNCIIAPI(
            str(creds["subscription_key"]),
            str(creds["fetch_function_key"]),
            extra,
            base_url_override=self.url or None,
        )

    def fetch_iter(self, checkpoint: dict[str, Any] | None) -> Iterator[Batch]:
        """Pages from the stored timestamp (and page token)."""
        cp = checkpoint or {}
        start = int(cp.get("start", stopncii.StopNCIIAPI.DEFAULT_START_TIME))
        yield from self.guarded(
            f"hashes from {start}", self._pages(start, str(cp.get("page") or ""))
        )

    def _pages(self, start: int, token: str) -> Iterator[Batch]:
        api = self.client()
        n = 0
        while True:
            n += 1
            page = f"hashes from {start}, page {n}"
            response = api.fetch_hashes(start_timestamp=start, next_page=token)
            deltas = []
            for record in response.hashRecords:
                kind = record.signalType.value
                pid = f"{kind}:{record.hashValue}"
                if record.hashStatus.value in GONE:
                    deltas.append(Delta(pid, None))
                    continue
                if kind not in TYPES:
                    continue
                try:
                    signals = checked_signals({TYPES[kind]: record.hashValue}, f"record {pid}")
                except InvalidHashError as exc:
                    raise self.error(page, str(exc)) from exc
                deltas.append(Delta(pid, signals))
            if response.hasMoreRecords and response.nextPageToken:
                token = response.nextPageToken
                yield Batch(
                    deltas, {"start": start, "page": token}, page=page, total=response.count
                )
                continue
            yield Batch(
                deltas, {"start": response.nextSetTimestamp}, page=page, total=response.count
            )
            return

    def push(self, entries: Iterable[Entry]) -> int:
        """Submit the set's PDQ and MD5 hashes as Blocked."""
        api = self.client()
        by_type = {v: k for k, v in TYPES.items()}
        hashes = {}
        for entry in entries:
            for signal, value in entry.hashes().items():
                if signal in by_type:
                    kind = stopncii.StopNCIISignalType(by_type[signal])
                    hashes[(kind, value)] = stopncii.StopNCIICSPFeedback(
                        stopncii.StopNCIICSPFeedbackValue.Blocked
                    )
        try:
            if hashes:
                api.submit_hashes(hashes)
        except Exception as exc:
            raise self.error("push", f"{type(exc).__name__}: {exc}"[:500]) from exc
        return len(hashes)

    def feedback(
        self, partner_id: str, verdict: str, note: str | None, signals: dict[str, str]
    ) -> None:
        """Blocked (true positive) or NotBlocked (false positive) for the hash."""
        kind, _, value = partner_id.partition(":")
        value_ = stopncii.StopNCIICSPFeedbackValue
        try:
            self.client().submit_feedback(
                stopncii.StopNCIISignalType(kind),
                value,
                value_.Blocked if verdict == "true-positive" else value_.NotBlocked,
                {note} if note else None,
            )
        except Exception as exc:
            raise self.error("feedback", f"{type(exc).__name__}: {exc}"[:500]) from exc
