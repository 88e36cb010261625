"""Exchanges with partners: their settings and checkpoints, provenance, feedback, feeds.

Subscribing (``vigil exchange pull``): a partner's records arrive as deltas keyed by
the partner's id. ``apply_batch`` applies one batch and stores the exchange's new
checkpoint in the same transaction, so a crash or Ctrl-C leaves the set and the
checkpoint of the last committed batch together. Entries are never deleted one by
one (``curation.py``): a partner's update appends the new version and disables the
old one, a withdrawal disables the entry (``entry_disabled``, by ``exchange:NAME``),
so entry numbers only grow and the PDQ index picks up new entries by number alone.
``exchange_entries`` keeps each partner id's provenance: which entry holds it, when
it was fetched, whether it is live.

Publishing (``/v1/feeds/SET``): a published set is turned into an append-only log
(``feed_log``) whose sequence numbers are the subscribers' cursors. ``sync_feed``
compares the set's live entries with what was last published (``feed_items``) and
logs the differences; it runs only when the store's change token moved. An item's id
is a digest of its hashes, so re-importing the same list publishes nothing new.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vigil.errors import StoreConflictError, UsageError
from vigil.hashsets.model import Entry, HashSetInfo, HashSetKind
from vigil.store.curation import Curation, check_set_name
from vigil.store.database import Database
from vigil.store.hashsets import HashSetRepository

_CHUNK = 500
#: Stored signals: indexed digests plus vPDQ (text).
STORED_SIGNALS = ("md5", "sha1", "sha256", "pdq", "vpdq")
VERDICTS = ("true-positive", "false-positive")

SQLITE = """
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    url TEXT,
    into_set TEXT NOT NULL,
    config TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    checkpoint TEXT,
    checkpoint_at REAL,
    fetch_started_at REAL,
    fetch_completed_at REAL,
    fetch_ok INTEGER,
    fetch_error TEXT,
    fetched_items INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE exchange_entries (
    exchange_id INTEGER NOT NULL,
    partner_id TEXT NOT NULL,
    set_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    content TEXT NOT NULL,
    live INTEGER NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (exchange_id, partner_id)
);
CREATE INDEX exchange_entries_by_entry ON exchange_entries (set_id, entry_no);
CREATE TABLE entry_feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
    set_name TEXT NOT NULL,
    item_id TEXT NOT NULL,
    party TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('true-positive', 'false-positive')),
    note TEXT,
    at TEXT NOT NULL
);
CREATE INDEX entry_feedback_by_set ON entry_feedback (set_name, item_id);
CREATE TABLE feed_grants (
    set_name TEXT NOT NULL,
    key_name TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (set_name, key_name)
);
CREATE TABLE feed_items (
    set_name TEXT NOT NULL,
    item_id TEXT NOT NULL,
    live INTEGER NOT NULL,
    digest TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (set_name, item_id)
);
CREATE TABLE feed_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    set_name TEXT NOT NULL,
    item_id TEXT NOT NULL,
    op TEXT NOT NULL,
    payload TEXT
);
CREATE INDEX feed_log_by_set ON feed_log (set_name, seq);
CREATE TABLE feed_state (
    set_name TEXT PRIMARY KEY,
    version TEXT NOT NULL
)
"""

POSTGRES = (
    SQLITE.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
    .replace("REAL", "DOUBLE PRECISION")
    .replace("INTEGER NOT NULL", "BIGINT NOT NULL")
)


@dataclass
class Exchange:
    """One configured partner exchange."""

    id: int
    name: str
    type: str
    url: str | None
    into_set: str
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    created_at: str = ""
    checkpoint: dict[str, Any] | None = None
    checkpoint_at: float | None = None
    fetch_started_at: float | None = None
    fetch_completed_at: float | None = None
    fetch_ok: bool | None = None
    fetch_error: str | None = None
    fetched_items: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (credentials are a file path, never their content)."""
        return {
            "name": self.name,
            "type": self.type,
            "url": self.url,
            "into": self.into_set,
            "enabled": self.enabled,
            "config": {k: v for k, v in self.config.items() if k != "public_key_pem"},
            "pinned_key": self.config.get("public_key_fingerprint"),
            "created_at": self.created_at,
            "checkpoint": self.checkpoint,
            "checkpoint_at": self.checkpoint_at,
            "last_fetch_started": self.fetch_started_at,
            "last_fetch_completed": self.fetch_completed_at,
            "last_fetch_ok": self.fetch_ok,
            "last_error": self.fetch_error,
            "fetched_items": self.fetched_items,
        }


@dataclass(frozen=True, slots=True)
class Delta:
    """One change from a partner: ``signals`` and ``category`` for an upsert, None to delete."""

    partner_id: str
    signals: dict[str, str] | None
    category: str | None = None
    metadata: dict[str, Any] | None = None

    def content(self) -> str:
        """What tells an update from a repeat: a digest of the hashes and category."""
        return _content(self.signals or {}, self.category)


@dataclass
class Applied:
    """What one batch did to the set."""

    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0


_EXCHANGE_COLUMNS = (
    "id, name, type, url, into_set, config, enabled, created_at, checkpoint, checkpoint_at, "
    "fetch_started_at, fetch_completed_at, fetch_ok, fetch_error, fetched_items"
)


def _content(signals: dict[str, str], category: str | None = None, *, salt: str = "c") -> str:
    """A short digest of canonical hashes (and a category): cheap, stable, order-free."""
    text = "\n".join(f"{k}:{v}" for k, v in sorted(signals.items()))
    if category is not None:
        text += f"\x1e{category}"
    return hashlib.sha256(f"{salt}\x1f{text}".encode()).hexdigest()[:32]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def item_id(signals: dict[str, str]) -> str:
    """A published entry's id: a digest of its hashes (stable across re-imports)."""
    return _content(signals, salt="i")


class ExchangeRepository:
    """Exchanges, provenance, feedback and feeds in one database."""

    def __init__(self, db: Database) -> None:
        """Use ``db`` (migrated)."""
        self.db = db
        self.sets = HashSetRepository(db)
        self.curation = Curation(db)

    # -- exchanges -------------------------------------------------------------------

    def add(
        self, name: str, type_name: str, url: str | None, into_set: str, config: dict[str, Any]
    ) -> Exchange:
        """Add an exchange; UsageError if the name is taken."""
        check_set_name(name)
        check_set_name(into_set)
        with self.db.transaction():
            rows = self.db.execute(
                "INSERT INTO exchanges (name, type, url, into_set, config, enabled, created_at) "
                "VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, type_name, url, into_set, json.dumps(config), _now()),
            )
            if not rows:
                raise UsageError(f"an exchange named {name!r} exists")
        return self.require(name)

    def get(self, name: str) -> Exchange | None:
        """The exchange called ``name``, or None."""
        rows = self.db.execute(f"SELECT {_EXCHANGE_COLUMNS} FROM exchanges WHERE name = ?", (name,))
        return _exchange(rows[0]) if rows else None

    def require(self, name: str) -> Exchange:
        """The exchange called ``name``, or UsageError."""
        found = self.get(name)
        if found is None:
            raise UsageError(f"no exchange named {name!r} (see vigil exchange list)")
        return found

    def list(self) -> list[Exchange]:
        """Every exchange, by name."""
        return [
            _exchange(r)
            for r in self.db.execute(f"SELECT {_EXCHANGE_COLUMNS} FROM exchanges ORDER BY name")
        ]

    def set_enabled(self, name: str, enabled: bool) -> Exchange:
        """Turn an exchange's pulls on or off."""
        self.require(name)
        self.db.execute(
            "UPDATE exchanges SET enabled = ? WHERE name = ?", (1 if enabled else 0, name)
        )
        return self.require(name)

    def remove(self, name: str) -> bool:
        """Forget an exchange and its provenance rows; its set and entries stay."""
        with self.db.transaction():
            rows = self.db.execute("DELETE FROM exchanges WHERE name = ? RETURNING id", (name,))
            if not rows:
                return False
            self.db.execute("DELETE FROM exchange_entries WHERE exchange_id = ?", (rows[0][0],))
        return True

    def fetch_started(self, exchange: Exchange) -> None:
        """Record that a pull began."""
        self.db.execute(
            "UPDATE exchanges SET fetch_started_at = ? WHERE id = ?", (time.time(), exchange.id)
        )

    def fetch_finished(self, exchange: Exchange, error: str | None) -> None:
        """Record how a pull ended (``error`` None: it succeeded)."""
        self.db.execute(
            "UPDATE exchanges SET fetch_completed_at = ?, fetch_ok = ?, fetch_error = ? "
            "WHERE id = ?",
            (time.time(), 0 if error else 1, error, exchange.id),
        )

    # -- provenance ------------------------------------------------------------------

    def known_ids(self, exchange: Exchange) -> list[str]:
        """The partner ids live in the exchange's set (rows of a set replaced since: none)."""
        info = self.sets.get(exchange.into_set)
        if info is None:
            return []
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT partner_id FROM exchange_entries WHERE exchange_id = ? AND set_id = ? "
                "AND live = 1 ORDER BY partner_id",
                (exchange.id, info.id),
            )
        ]

    def provenance(self, set_name: str) -> dict[int, dict[str, Any]]:
        """Per entry number of ``set_name``: exchange, partner id, fetched at, live."""
        info = self.sets.require(set_name)
        return {
            int(entry_no): {
                "exchange": name,
                "partner_id": partner_id,
                "fetched_at": fetched_at,
                "live": bool(live),
            }
            for entry_no, name, partner_id, fetched_at, live in self.db.execute(
                "SELECT e.entry_no, x.name, e.partner_id, e.fetched_at, e.live "
                "FROM exchange_entries e JOIN exchanges x ON x.id = e.exchange_id "
                "WHERE e.set_id = ? ORDER BY e.entry_no",
                (info.id,),
            )
        }

    def entry_of(self, exchange: Exchange, partner_id: str) -> tuple[int, int, bool] | None:
        """``(set_id, entry_no, live)`` of a partner id, or None."""
        info = self.sets.get(exchange.into_set)
        rows = self.db.execute(
            "SELECT set_id, entry_no, live FROM exchange_entries "
            "WHERE exchange_id = ? AND partner_id = ? AND set_id = ?",
            (exchange.id, partner_id, info.id if info is not None else -1),
        )
        return (int(rows[0][0]), int(rows[0][1]), bool(rows[0][2])) if rows else None

    def apply_batch(
        self,
        exchange: Exchange,
        deltas: list[Delta],
        checkpoint: dict[str, Any] | None,
        *,
        full_snapshot: bool = False,
        category_profile: str | None = None,
    ) -> Applied:
        """Apply one batch of deltas to the exchange's set and store ``checkpoint``; atomic.

        ``full_snapshot``: the batch is the partner's whole list, so every live id not in
        it is withdrawn. The set is created (as an alert set, its categories read under
        ``category_profile``) if it does not exist.
        Entries are written through the hash-set repository (never by column here):
        into an empty set by the bulk loader of imports (``replace``), otherwise by its
        entry-at-a-time path (``append_entries``; a partner's increments are small).
        """
        result = Applied()
        fetched_at = _now()
        with self.db.transaction():
            self._check_checkpoint(exchange)
            info = self._target(exchange, category_profile)
            known = self._known(exchange, [d.partner_id for d in deltas])
            if full_snapshot:
                named = {d.partner_id for d in deltas}
                for partner_id, entry_no, content in self.db.execute(
                    "SELECT partner_id, entry_no, content FROM exchange_entries "
                    "WHERE exchange_id = ? AND set_id = ? AND live = 1",
                    (exchange.id, info.id),
                ):
                    if str(partner_id) not in named:
                        known[str(partner_id)] = (int(entry_no), str(content), 1)
                        deltas = [*deltas, Delta(str(partner_id), None)]
            # What each id ends as after the batch (the last delta of an id wins).
            final: dict[str, Delta] = {}
            for delta in deltas:
                final.pop(delta.partner_id, None)
                final[delta.partner_id] = delta
            add: list[Delta] = []
            disable: list[int] = []
            rows: dict[str, tuple[int, str, int]] = {}
            for pid, delta in final.items():
                old = known.get(pid)
                live_old = old is not None and old[2] == 1
                if delta.signals is None:
                    if live_old:
                        assert old is not None
                        disable.append(old[0])
                        rows[pid] = (old[0], old[1], 0)
                        result.withdrawn += 1
                    continue
                if live_old and old is not None and old[1] == delta.content():
                    result.unchanged += 1
                    continue
                if live_old and old is not None:
                    disable.append(old[0])
                    result.updated += 1
                else:
                    result.added += 1
                add.append(delta)
            set_id = self._append(exchange, info, add, rows, fetched_at)
            for entry_no in disable:
                self.curation.set_disabled(
                    exchange.into_set, entry_no, True, None, f"exchange:{exchange.name}"
                )
            self._provenance(exchange, set_id, rows, fetched_at)
            if add or disable:
                self.db.execute(
                    "UPDATE service_changes SET generation = generation + 1 WHERE id = 1"
                )
            self.db.execute(
                "UPDATE exchanges SET checkpoint = ?, checkpoint_at = ?, "
                "fetched_items = fetched_items + ? WHERE id = ?",
                (
                    json.dumps(checkpoint) if checkpoint is not None else None,
                    time.time(),
                    len(deltas),
                    exchange.id,
                ),
            )
        exchange.checkpoint = checkpoint
        return result

    def _append(
        self,
        exchange: Exchange,
        info: HashSetInfo,
        add: list[Delta],
        rows: dict[str, tuple[int, str, int]],
        fetched_at: str,
    ) -> int:
        """Append the entries of ``add`` to the set; note their numbers in ``rows``."""
        set_id = int(info.id or 0)
        if not add:
            return set_id
        top = self.sets.top_entry(set_id)
        if top < 0:
            # An empty set (a first pull): the import's bulk path, entries numbered 0, 1, ...
            stored = self.sets.replace(
                HashSetInfo(
                    name=info.name,
                    kind=info.kind,
                    category_profile=info.category_profile,
                    provenance=info.provenance,
                    source_format="exchange",
                    attributes=dict(info.attributes or {}),
                ),
                (_entry(d, exchange.name, fetched_at) for d in add),
            )
            set_id = int(stored.id or 0)
            for n, delta in enumerate(add):
                rows[delta.partner_id] = (n, delta.content(), 1)
            return set_id
        # A partner's increment: the entry-at-a-time path, in this batch's transaction.
        # Rows straight from the deltas (no Entry objects): the same metadata as _entry's.
        rows_out = []
        name, when = _json_text(exchange.name), _json_text(fetched_at)
        for n, delta in enumerate(add, start=top + 1):
            if delta.metadata:
                extra = _entry(delta, exchange.name, fetched_at).extra
                meta = json.dumps({"extra": extra}, ensure_ascii=False, separators=(",", ":"))
            else:
                meta = (
                    f'{{"extra":{{"metadata":{{"exchange":{{"name":{name},'
                    f'"partner_id":{_json_text(delta.partner_id)},"fetched_at":{when}}}}}}}}}'
                )
            rows_out.append((n, dict(delta.signals or {}), delta.category, meta))
            rows[delta.partner_id] = (n, delta.content(), 1)
        self.sets.append_entries(set_id, rows_out)
        self.db.execute(
            "UPDATE hash_sets SET entry_count = entry_count + ? WHERE id = ?",
            (len(rows_out), set_id),
        )
        return set_id

    def _provenance(
        self,
        exchange: Exchange,
        set_id: int,
        rows: dict[str, tuple[int, str, int]],
        fetched_at: str,
    ) -> None:
        if rows:
            self.db.executemany(
                "INSERT INTO exchange_entries (exchange_id, partner_id, set_id, entry_no, "
                "content, live, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (exchange_id, partner_id) DO UPDATE SET set_id = excluded.set_id, "
                "entry_no = excluded.entry_no, content = excluded.content, "
                "live = excluded.live, fetched_at = excluded.fetched_at",
                [
                    (exchange.id, pid, set_id, n, content, live, fetched_at)
                    for pid, (n, content, live) in rows.items()
                ],
            )

    def _check_checkpoint(self, exchange: Exchange) -> None:
        """Refuse a batch when another pull moved the checkpoint since this one read it.

        Two pulls of one exchange (cron and ``--sync-every``, say) would otherwise apply
        the same pages twice and move the checkpoint back; the second one stops instead.
        """
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        rows = self.db.execute(
            f"SELECT checkpoint FROM exchanges WHERE id = ?{lock}", (exchange.id,)
        )
        if not rows:
            raise UsageError(f"exchange {exchange.name} was removed during the pull")
        stored = json.loads(rows[0][0]) if rows[0][0] else None
        if stored != exchange.checkpoint:
            raise StoreConflictError(
                f"exchange {exchange.name}: another pull moved its checkpoint meanwhile; "
                "this one stops (nothing of this batch was applied)"
            )

    def _target(self, exchange: Exchange, category_profile: str | None) -> HashSetInfo:
        info = self.sets.get(exchange.into_set, lock=True)
        if info is None:
            created = self.sets.create(
                HashSetInfo(
                    name=exchange.into_set,
                    kind=HashSetKind.alert,
                    category_profile=category_profile,
                    provenance=f"exchange {exchange.name} ({exchange.type} {exchange.url or ''})",
                    source_format="exchange",
                )
            )
            info = created or self.sets.require(exchange.into_set, lock=True)
        return info

    def _known(self, exchange: Exchange, ids: list[str]) -> dict[str, tuple[int, str, int]]:
        """``(entry_no, content, live)`` of the ids this exchange holds in its set now."""
        info = self.sets.get(exchange.into_set)
        set_id = info.id if info is not None else -1
        out: dict[str, tuple[int, str, int]] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            for partner_id, entry_no, content, live, row_set in self.db.execute(
                "SELECT partner_id, entry_no, content, live, set_id FROM exchange_entries "
                f"WHERE exchange_id = ? AND partner_id IN ({', '.join('?' * len(chunk))})",
                (exchange.id, *chunk),
            ):
                live_here = int(live) if int(row_set) == set_id else 0
                out[str(partner_id)] = (int(entry_no), str(content), live_here)
        return out

    # -- feedback --------------------------------------------------------------------

    def add_feedback(
        self,
        direction: str,
        set_name: str,
        item: str,
        party: str,
        verdict: str,
        note: str | None,
    ) -> dict[str, Any]:
        """Record feedback sent to a partner, or received from a subscriber."""
        if verdict not in VERDICTS:
            raise UsageError(f"verdict must be one of {', '.join(VERDICTS)}")
        if note is not None and len(note) > 1000:
            raise UsageError("note must be at most 1000 characters")
        at = _now()
        self.db.execute(
            "INSERT INTO entry_feedback (direction, set_name, item_id, party, verdict, note, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (direction, set_name, item, party, verdict, note, at),
        )
        return {
            "direction": direction,
            "hashset": set_name,
            "item": item,
            "party": party,
            "verdict": verdict,
            "note": note,
            "at": at,
        }

    def feedback(self, set_name: str) -> list[dict[str, Any]]:
        """Every feedback row about ``set_name``'s items, oldest first."""
        return [
            {
                "direction": d,
                "item": i,
                "party": p,
                "verdict": v,
                "note": n,
                "at": a,
            }
            for d, i, p, v, n, a in self.db.execute(
                "SELECT direction, item_id, party, verdict, note, at FROM entry_feedback "
                "WHERE set_name = ? ORDER BY id",
                (set_name,),
            )
        ]

    # -- publishing ------------------------------------------------------------------

    def grant(self, set_name: str, key_name: str) -> None:
        """Let the API key ``key_name`` read the feed of ``set_name``."""
        self.sets.require(set_name)
        self.db.execute(
            "INSERT INTO feed_grants (set_name, key_name, granted_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (set_name, key_name, _now()),
        )

    def revoke(self, set_name: str, key_name: str) -> bool:
        """Withdraw a grant; False if there was none."""
        return bool(
            self.db.execute(
                "DELETE FROM feed_grants WHERE set_name = ? AND key_name = ? RETURNING set_name",
                (set_name, key_name),
            )
        )

    def grants(self, key_name: str | None = None) -> list[tuple[str, str]]:
        """``(set_name, key_name)`` grants, of one key or all."""
        if key_name is None:
            rows = self.db.execute("SELECT set_name, key_name FROM feed_grants ORDER BY 1, 2")
        else:
            rows = self.db.execute(
                "SELECT set_name, key_name FROM feed_grants WHERE key_name = ? ORDER BY 1",
                (key_name,),
            )
        return [(str(s), str(k)) for s, k in rows]

    def granted(self, set_name: str, key_name: str) -> bool:
        """Whether ``key_name`` may read the feed of ``set_name``."""
        return bool(
            self.db.execute(
                "SELECT 1 FROM feed_grants WHERE set_name = ? AND key_name = ?",
                (set_name, key_name),
            )
        )

    def sync_feed(self, set_name: str) -> int:
        """Log the set's changes since the last sync; return how many items were logged."""
        version = self.curation.version()
        with self.db.transaction():
            info = self.sets.get(set_name, lock=True)
            token = f"{info.id if info else 0}:{version}"
            state = self.db.execute(
                "SELECT version FROM feed_state WHERE set_name = ?", (set_name,)
            )
            if state and state[0][0] == token:
                return 0
            current = dict(self._live_items(info)) if info is not None else {}
            published = {
                str(i): (int(live), str(d))
                for i, live, d in self.db.execute(
                    "SELECT item_id, live, digest FROM feed_items WHERE set_name = ?", (set_name,)
                )
            }
            changes: list[tuple[str, str, dict[str, Any] | None, str]] = []
            for iid, payload in current.items():
                digest = _content(payload["signals"], payload["category"])
                old = published.get(iid)
                if old is None or not old[0] or old[1] != digest:
                    changes.append((iid, "upsert", payload, digest))
            for iid, (live, digest) in published.items():
                if live and iid not in current:
                    changes.append((iid, "delete", None, digest))
            logged = self._log(set_name, changes)
            self.db.execute("DELETE FROM feed_state WHERE set_name = ?", (set_name,))
            self.db.execute(
                "INSERT INTO feed_state (set_name, version) VALUES (?, ?)", (set_name, token)
            )
        return logged

    def _live_items(self, info: HashSetInfo) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(item id, payload)`` of the set's entries that are not disabled now."""
        now = time.time()
        set_id = int(info.id or 0)
        disabled = self.curation.disabled()
        for entry_no, signals, category in self.sets.entry_signals(set_id):
            if (set_id, entry_no) in disabled:
                until = disabled[(set_id, entry_no)]
                if until is None or until > now:
                    continue
            kept = {t: v for t, v in signals.items() if t in STORED_SIGNALS}
            if kept:
                yield item_id(kept), {"signals": kept, "category": category}

    def _log(
        self, set_name: str, changes: list[tuple[str, str, dict[str, Any] | None, str]]
    ) -> int:
        """Append ``changes`` to the feed log with the next sequence numbers; how many.

        Sequence numbers are shared by all feeds and given here, in one statement per
        table (a million-entry set publishes in seconds): writers of the log take turns
        (SQLite's write lock; an advisory lock on PostgreSQL).
        """
        if not changes:
            return 0
        if self.db.dialect == "postgres":
            self.db.execute("SELECT pg_advisory_xact_lock(7373)")
        top = int(self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM feed_log")[0][0])
        log = [
            (seq, set_name, iid, op, json.dumps(payload) if payload is not None else None)
            for seq, (iid, op, payload, _) in enumerate(changes, start=top + 1)
        ]
        self.db.executemany(
            "INSERT INTO feed_log (seq, set_name, item_id, op, payload) VALUES (?, ?, ?, ?, ?)",
            log,
        )
        self.db.executemany(
            "INSERT INTO feed_items (set_name, item_id, live, digest, seq) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (set_name, item_id) DO UPDATE SET live = excluded.live, "
            "digest = excluded.digest, seq = excluded.seq",
            [
                (set_name, iid, 1 if op == "upsert" else 0, digest, seq)
                for seq, (iid, op, _, digest) in enumerate(changes, start=top + 1)
            ],
        )
        return len(changes)

    def feed_page(
        self, set_name: str, cursor: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Logged items after ``cursor`` (at most ``limit``), and whether more follow."""
        rows = self.db.execute(
            "SELECT seq, item_id, op, payload FROM feed_log WHERE set_name = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (set_name, cursor, limit + 1),
        )
        items = []
        for seq, iid, op, payload in rows[:limit]:
            body = json.loads(payload) if payload else {}
            items.append({"seq": int(seq), "id": str(iid), "op": str(op), **body})
        return items, len(rows) > limit

    def published_entries(self, set_name: str) -> dict[str, list[int]]:
        """Item id -> the set's entry numbers holding those hashes (for feedback display)."""
        info = self.sets.require(set_name)
        out: dict[str, list[int]] = {}
        for entry_no, signals, _ in self.sets.entry_signals(int(info.id or 0)):
            kept = {t: v for t, v in signals.items() if t in STORED_SIGNALS}
            if kept:
                out.setdefault(item_id(kept), []).append(entry_no)
        return out


def _json_text(text: str) -> str:
    """``text`` as a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)


def _entry(delta: Delta, exchange: str, fetched_at: str) -> Entry:
    """The entry stored for an upsert: its hashes, category, and provenance in its metadata."""
    metadata: dict[str, Any] = dict(delta.metadata or {})
    metadata["exchange"] = {
        "name": exchange,
        "partner_id": delta.partner_id,
        "fetched_at": fetched_at,
    }
    return Entry(
        signals=dict(delta.signals or {}),
        category=delta.category,
        extra={"metadata": metadata},
    )


def _exchange(row: tuple[Any, ...]) -> Exchange:
    (i, name, type_name, url, into, config, enabled, created, cp, cp_at, fs, fc, ok, err, n) = row
    return Exchange(
        id=int(i),
        name=str(name),
        type=str(type_name),
        url=url,
        into_set=str(into),
        config=json.loads(config) if config else {},
        enabled=bool(enabled),
        created_at=str(created),
        checkpoint=json.loads(cp) if cp else None,
        checkpoint_at=float(cp_at) if cp_at is not None else None,
        fetch_started_at=float(fs) if fs is not None else None,
        fetch_completed_at=float(fc) if fc is not None else None,
        fetch_ok=None if ok is None else bool(ok),
        fetch_error=err,
        fetched_items=int(n),
    )


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
