"""The exchange use cases: add, pull, push, feedback; and the publisher's side of a feed.

``pull`` is the loop of python-threatexchange's fetcher, with Vigil's store under it:
for each batch that ``fetch_iter`` yields, the deltas are checked and applied and the
checkpoint stored, in one transaction (``ExchangeRepository.apply_batch``). A failure
at any point (the partner, the network, a bad page, a signature, Ctrl-C, a kill)
leaves the set and the checkpoint of the last committed batch; the next pull resumes
there. The exchange's fetch status (HMA's ``/c/exchange/<name>/status``) records how
the last pull ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import VigilError
from vigil.exchange import exchange_type
from vigil.exchange.base import ExchangeError, SignalExchange
from vigil.exchange.signing import fingerprint, parse_public, sign_batch
from vigil.hashsets.model import Entry
from vigil.store import Store, open_store
from vigil.store.curation import Curation
from vigil.store.exchanges import VERDICTS, Applied, Delta, Exchange, ExchangeRepository

#: Progress callback: (records so far, estimated total or 0).
Progress = Callable[[int, int], None]
MAX_PAGE = 10_000


@dataclass
class PullReport:
    """What one pull did."""

    exchange: str
    batches: int = 0
    records: int = 0
    applied: Applied = field(default_factory=Applied)
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "exchange": self.exchange,
            "batches": self.batches,
            "records": self.records,
            "added": self.applied.added,
            "updated": self.applied.updated,
            "withdrawn": self.applied.withdrawn,
            "unchanged": self.applied.unchanged,
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def repository(store: Store) -> ExchangeRepository:
    """The exchanges of ``store``."""
    return ExchangeRepository(store.db)


def add_exchange(
    store: Store,
    name: str,
    type_name: str,
    *,
    url: str | None = None,
    into: str | None = None,
    credentials: Path | None = None,
    options: dict[str, Any] | None = None,
    public_key: Path | None = None,
) -> Exchange:
    """Configure an exchange; the type checks its URL and options, a vigil one pins a key."""
    cls = exchange_type(type_name)
    options = dict(options or {})
    cls.check_config(url, options)
    config: dict[str, Any] = {"options": options}
    if credentials is not None:
        if not credentials.is_file():
            raise ExchangeError(f"no credentials file {credentials}", usage=True)
        config["credentials"] = str(credentials.resolve())
    if public_key is not None:
        try:
            pem = public_key.read_bytes()
        except OSError as exc:
            raise ExchangeError(
                f"cannot read public key {public_key}: {exc.strerror}", usage=True
            ) from exc
        config["public_key_pem"] = pem.decode("ascii", "replace")
        config["public_key_fingerprint"] = fingerprint(parse_public(pem, str(public_key)))
    elif type_name == "vigil":
        raise ExchangeError(
            "a vigil exchange needs --public-key FILE: the publisher's key "
            "(its vigil keys export-public), pinned now and checked on every pull",
            usage=True,
        )
    return repository(store).add(name, type_name, url, into or name, config)


def open_exchange(store: Store, exchange: Exchange) -> SignalExchange:
    """The exchange's type, ready to fetch."""
    repo = repository(store)
    return exchange_type(exchange.type)(exchange, lambda: repo.known_ids(exchange))


def pull(store: Store, name: str, progress: Progress | None = None) -> PullReport:
    """Fetch and apply everything new from the exchange ``name``; see the module doc."""
    repo = repository(store)
    exchange = repo.require(name)
    api = open_exchange(store, exchange)
    report = PullReport(exchange=name)
    started = time.perf_counter()
    repo.fetch_started(exchange)
    try:
        for batch in api.fetch_iter(exchange.checkpoint):
            deltas = [
                d if d.signals or d.signals is None else Delta(d.partner_id, None)
                for d in batch.deltas
            ]
            applied = repo.apply_batch(
                exchange,
                deltas,
                batch.checkpoint,
                full_snapshot=batch.full_snapshot,
                category_profile=batch.category_profile or api.category_profile,
            )
            report.batches += 1
            report.records += len(deltas)
            for key in ("added", "updated", "withdrawn", "unchanged"):
                setattr(report.applied, key, getattr(report.applied, key) + getattr(applied, key))
            if progress is not None:
                progress(report.records, batch.total)
    except VigilError as exc:
        report.error = str(exc)
        repo.fetch_finished(exchange, report.error)
        raise
    except BaseException:
        repo.fetch_finished(exchange, "interrupted")
        raise
    repo.fetch_finished(exchange, None)
    report.seconds = time.perf_counter() - started
    return report


def pull_all(store: Store, progress: Progress | None = None) -> list[PullReport]:
    """Pull every enabled exchange; one's failure is reported and the others still run."""
    reports = []
    for exchange in repository(store).list():
        if not exchange.enabled:
            continue
        try:
            reports.append(pull(store, exchange.name, progress))
        except VigilError as exc:
            reports.append(PullReport(exchange=exchange.name, error=str(exc)))
    return reports


def push(store: Store, name: str, hashset: str) -> int:
    """Send the live entries of ``hashset`` to the exchange's partner; how many were sent."""
    exchange = repository(store).require(name)
    api = open_exchange(store, exchange)
    store.hashsets.require(hashset)
    return api.push(live_entries(store, hashset))


def live_entries(store: Store, hashset: str) -> Iterator[Entry]:
    """The entries of a set that are not disabled (entry numbers run 0, 1, ... in order)."""
    info = store.hashsets.require(hashset)
    set_id = int(info.id or 0)
    disabled = Curation(store.db).disabled()
    now = time.time()
    for n, entry in enumerate(store.hashsets.entries(hashset)):
        if (set_id, n) in disabled:
            until = disabled[(set_id, n)]
            if until is None or until > now:
                continue
        yield entry


def send_feedback(
    store: Store, name: str, partner_id: str, verdict: str, note: str | None = None
) -> dict[str, Any]:
    """Tell the partner about one of its entries; recorded once the partner took it."""
    if verdict not in VERDICTS:
        raise ExchangeError(f"verdict must be one of {', '.join(VERDICTS)}", usage=True)
    repo = repository(store)
    exchange = repo.require(name)
    where = repo.entry_of(exchange, partner_id)
    if where is None:
        raise ExchangeError(
            f"exchange {name} holds no entry {partner_id!r} (see vigil hashset show "
            f"{exchange.into_set} --feedback)",
            usage=True,
        )
    signals = repo.curation.entry(exchange.into_set, where[1])["signals"]
    open_exchange(store, exchange).feedback(partner_id, verdict, note, signals)
    return repo.add_feedback("sent", exchange.into_set, partner_id, name, verdict, note)


# -- the publisher's side ------------------------------------------------------------


def publish(store: Store, hashset: str, key_name: str) -> None:
    """Let the API key ``key_name`` read ``hashset``'s feed."""
    repository(store).grant(hashset, key_name)


def unpublish(store: Store, hashset: str, key_name: str) -> bool:
    """Withdraw a grant."""
    return repository(store).revoke(hashset, key_name)


def feed_batch(
    store: Store,
    hashset: str,
    *,
    cursor: int,
    limit: int,
    nonce: str,
    key: Any,
) -> dict[str, Any]:
    """One signed page of ``hashset``'s feed after ``cursor`` (``key``: Ed25519 private)."""
    repo = repository(store)
    repo.sync_feed(hashset)
    items, more = repo.feed_page(hashset, cursor, max(1, min(limit, MAX_PAGE)))
    info = store.hashsets.get(hashset)
    body = {
        "feed": hashset,
        "category_profile": info.category_profile if info is not None else None,
        "cursor": cursor,
        "next_cursor": items[-1]["seq"] if items else cursor,
        "has_more": more,
        "nonce": nonce,
        "issued_at": time.time(),
        "items": items,
    }
    return sign_batch(key, body)


def receive_feedback(
    store: Store, hashset: str, subscriber: str, item: str, verdict: str, note: str | None
) -> dict[str, Any]:
    """Record a subscriber's verdict on one published item."""
    repo = repository(store)
    repo.sync_feed(hashset)
    if item not in repo.published_entries(hashset):
        raise ExchangeError(f"feed {hashset} has no item {item!r}", usage=True)
    return repo.add_feedback("received", hashset, item, subscriber, verdict, note)


def entry_report(store: Store, hashset: str) -> list[dict[str, Any]]:
    """Per entry of ``hashset``: where it came from and the feedback sent or received."""
    repo = repository(store)
    provenance = repo.provenance(hashset)
    feedback = repo.feedback(hashset)
    by_item: dict[str, list[dict[str, Any]]] = {}
    for row in feedback:
        by_item.setdefault(row["item"], []).append(row)
    rows: dict[int, dict[str, Any]] = {}
    for entry_no, prov in provenance.items():
        rows[entry_no] = {"entry": entry_no, "provenance": prov, "feedback": []}
        rows[entry_no]["feedback"] += by_item.get(prov["partner_id"], [])
    if any(r["direction"] == "received" for r in feedback):
        for iid, numbers in repo.published_entries(hashset).items():
            for entry_no in numbers:
                got = [r for r in by_item.get(iid, []) if r["direction"] == "received"]
                if got:
                    row = rows.setdefault(
                        entry_no, {"entry": entry_no, "provenance": None, "feedback": []}
                    )
                    row["item"] = iid
                    row["feedback"] += got
    return [rows[n] for n in sorted(rows)]


def parse_interval(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``1h`` or a plain number of seconds; ExchangeError else."""
    units = {"s": 1, "m": 60, "h": 3600}
    raw = text.strip().lower()
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in units else (raw, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ExchangeError(f"--sync-every takes 30s, 15m or 1h (got {text!r})", usage=True)
    return seconds


def sync_every(database_url: str, seconds: float, stop: threading.Event) -> threading.Thread:
    """A daemon thread pulling every enabled exchange each ``seconds`` until ``stop`` is set."""

    def loop() -> None:
        while not stop.is_set():
            try:
                with open_store(database_url) as store:
                    pull_all(store)
            except VigilError:
                pass  # recorded per exchange; the next round tries again
            stop.wait(seconds)

    thread = threading.Thread(target=loop, name="vigil-exchange-sync", daemon=True)
    thread.start()
    return thread
