"""The store's schema as an ordered list of migrations, applied on start.

To change the schema, append a ``Migration`` with the next version and its SQL for
both dialects (later issues add cases, API keys, ...); never edit one that has
shipped. Each migration runs in its own transaction together with the row that
records it, so a failed migration leaves the schema as it was, and two processes
starting at once apply each migration once (the second re-checks inside its
transaction, which waits for the first's write lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from vigil.errors import StoreError
from vigil.store import bulkload, cases, content_ids, hashset_history, review, service, users
from vigil.store.crawl import POSTGRES as CRAWL_POSTGRES
from vigil.store.crawl import SQLITE as CRAWL_SQLITE
from vigil.store.database import Database
from vigil.store.exchanges import POSTGRES as EXCHANGES_POSTGRES
from vigil.store.exchanges import SQLITE as EXCHANGES_SQLITE


@dataclass(frozen=True)
class Migration:
    """One schema change, written for each dialect."""

    version: int
    name: str
    sqlite: str
    postgres: str


_HASH_SETS_SQLITE = """
CREATE TABLE hash_sets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'ignore', 'watch')),
    category_profile TEXT,
    provenance TEXT,
    version TEXT,
    source_format TEXT,
    source_sha256 TEXT,
    imported_at TEXT NOT NULL,
    entry_count INTEGER NOT NULL DEFAULT 0,
    attributes TEXT
);
CREATE TABLE hash_entries (
    set_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    md5 BLOB,
    sha1 BLOB,
    sha256 BLOB,
    pdq BLOB,
    vpdq TEXT,
    category TEXT,
    meta TEXT,
    PRIMARY KEY (set_id, entry_no)
) WITHOUT ROWID;
CREATE TABLE hash_index (
    hash_type INTEGER NOT NULL,
    digest BLOB NOT NULL,
    set_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    category TEXT,
    PRIMARY KEY (hash_type, digest, set_id, entry_no)
) WITHOUT ROWID;
"""

_HASH_SETS_POSTGRES = """
CREATE TABLE hash_sets (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('alert', 'ignore', 'watch')),
    category_profile TEXT,
    provenance TEXT,
    version TEXT,
    source_format TEXT,
    source_sha256 TEXT,
    imported_at TEXT NOT NULL,
    entry_count BIGINT NOT NULL DEFAULT 0,
    attributes TEXT
);
CREATE TABLE hash_entries (
    set_id BIGINT NOT NULL,
    entry_no BIGINT NOT NULL,
    md5 BYTEA,
    sha1 BYTEA,
    sha256 BYTEA,
    pdq BYTEA,
    vpdq TEXT,
    category TEXT,
    meta TEXT,
    PRIMARY KEY (set_id, entry_no)
);
CREATE TABLE hash_index (
    hash_type SMALLINT NOT NULL,
    digest BYTEA NOT NULL,
    set_id BIGINT NOT NULL,
    entry_no BIGINT NOT NULL,
    category TEXT,
    PRIMARY KEY (hash_type, digest, set_id, entry_no)
);
"""

#: Tables whose integer ids leave the store (set ids in content ids and index files,
#: case ids, key and webhook ids, event and match-log ids): with a plain ``INTEGER
#: PRIMARY KEY`` SQLite hands the highest id out again once its row is deleted.
_NEVER_REUSED = {
    "hash_sets": _HASH_SETS_SQLITE,
    "cases": cases.SQLITE,
    "api_keys": service.SQLITE,
    "webhooks": service.SQLITE,
    "webhook_events": service.SQLITE,
    "match_log": service.SQLITE,
}


def _autoincrement_sqlite() -> str:
    """Rebuild each table of ``_NEVER_REUSED`` with AUTOINCREMENT, keeping rows and ids.

    The new definitions are the shipped ones with ``AUTOINCREMENT`` added (read from the
    frozen migration texts, so the columns stay in the same order for ``SELECT *``).
    Copying the rows sets ``sqlite_sequence`` to the highest id kept. Also drops the
    disabled marks of sets that no longer exist (left behind by ``hashset delete``).
    """
    statements = []
    for table, ddl in _NEVER_REUSED.items():
        found = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", ddl, re.DOTALL)
        if found is None:  # pragma: no cover - the texts are frozen
            raise AssertionError(f"no definition of {table}")
        body = found.group(1).replace(
            "id INTEGER PRIMARY KEY,", "id INTEGER PRIMARY KEY AUTOINCREMENT,", 1
        )
        statements += [
            f"CREATE TABLE {table}_v4 ({body}\n)",
            f"INSERT INTO {table}_v4 SELECT * FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {table}_v4 RENAME TO {table}",
        ]
    statements.append(
        "CREATE INDEX webhook_events_due ON webhook_events (delivered_at, next_attempt_at)"
    )
    statements.append(_ORPHAN_MARKS)
    return ";\n".join(statements)


_ORPHAN_MARKS = "DELETE FROM entry_disabled WHERE set_id NOT IN (SELECT id FROM hash_sets)"

#: Migration 9 moves every signal to generic rows (issue 10): a hash set's signals from
#: the columns md5, sha1, sha256, pdq, vpdq of ``hash_entries`` to ``hash_signals``
#: (codes 1-5 are those types' frozen codes in ``vigil.signals``), a case item's from the
#: same columns of ``case_items`` to ``case_item_signals``; case items gain their
#: locator and disk-image facts. ``hash_index`` is unchanged.
_OLD_SIGNALS = (("md5", 1), ("sha1", 2), ("sha256", 3), ("pdq", 4), ("vpdq", 5))


def _generic_signals(dialect: str) -> str:
    sqlite = dialect == "sqlite"
    integer = "INTEGER" if sqlite else "BIGINT"
    blob = "BLOB" if sqlite else "BYTEA"
    text_to_blob = "CAST(vpdq AS BLOB)" if sqlite else "convert_to(vpdq, 'UTF8')"
    rowid = " WITHOUT ROWID" if sqlite else ""
    moves = " UNION ALL ".join(
        f"SELECT set_id, entry_no, {code}, {text_to_blob if name == 'vpdq' else name} "
        f"FROM hash_entries WHERE {name} IS NOT NULL"
        for name, code in _OLD_SIGNALS
    )
    item_moves = " UNION ALL ".join(
        f"SELECT case_id, source, ord, '{name}', {name} FROM case_items_v8 WHERE {name} IS NOT NULL"
        for name, _code in _OLD_SIGNALS
    )
    kept = (
        "case_id, source, ord, seq, path, container, depth, kind, size, mtime, ctime, "
        "atime, type, pdq_quality, link_target, known, notes, error, matches"
    )
    items = cases.ITEMS_SQLITE
    if not sqlite:
        items = items.replace("INTEGER", "BIGINT").replace("REAL", "DOUBLE PRECISION")
    statements = [
        f"CREATE TABLE hash_signals (set_id {integer} NOT NULL, entry_no {integer} NOT NULL, "
        f"hash_type {integer} NOT NULL, value {blob} NOT NULL, "
        f"PRIMARY KEY (set_id, entry_no, hash_type)){rowid}",
        f"INSERT INTO hash_signals (set_id, entry_no, hash_type, value) {moves} ORDER BY 1, 2, 3",
        f"CREATE TABLE hash_entries_v9 (set_id {integer} NOT NULL, entry_no {integer} NOT NULL, "
        f"category TEXT, meta TEXT, PRIMARY KEY (set_id, entry_no)){rowid}",
        "INSERT INTO hash_entries_v9 (set_id, entry_no, category, meta) "
        "SELECT set_id, entry_no, category, meta FROM hash_entries",
        "DROP TABLE hash_entries",
        "ALTER TABLE hash_entries_v9 RENAME TO hash_entries",
        "DROP INDEX case_items_sha256",
        "ALTER TABLE case_items RENAME TO case_items_v8",
    ]
    if not sqlite:
        statements.append("ALTER INDEX hash_entries_v9_pkey RENAME TO hash_entries_pkey")
        statements.append("ALTER INDEX case_items_pkey RENAME TO case_items_v8_pkey")
    statements += [s.strip() for s in items.split(";") if s.strip()]
    statements += [
        f"INSERT INTO case_items ({kept}) SELECT {kept} FROM case_items_v8",
        "INSERT INTO case_item_signals (case_id, source, ord, signal, value) " + item_moves,
        "DROP TABLE case_items_v8",
    ]
    return ";\n".join(statements)


#: Every migration, in order. Append only.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "hash sets, entries and the digest index", _HASH_SETS_SQLITE, _HASH_SETS_POSTGRES),
    Migration(2, "cases, scanned sources, items and the audit log", cases.SQLITE, cases.POSTGRES),
    Migration(
        3,
        "service: API keys, webhooks and their queue, match log, disabled entries",
        service.SQLITE,
        service.POSTGRES,
    ),
    Migration(
        4,
        "ids are never reused (AUTOINCREMENT on SQLite); drop orphaned disabled marks",
        _autoincrement_sqlite(),
        _ORPHAN_MARKS,  # BIGSERIAL never hands an id out twice
    ),
    Migration(
        5,
        "HMA content ids: small, sequential, never reused",
        content_ids.SQLITE,
        content_ids.POSTGRES,
    ),
    Migration(
        6,
        "review: examiners and sessions, analysis, decisions, the exposure log",
        users.SQLITE + review.SQLITE,
        users.POSTGRES + review.POSTGRES,
    ),
    Migration(
        7,
        "crawl: frontier and fetches, sightings, removal notices and checks",
        CRAWL_SQLITE,
        CRAWL_POSTGRES,
    ),
    Migration(
        8,
        "exchanges: partners, checkpoints, provenance per entry, feedback, published feeds",
        EXCHANGES_SQLITE,
        EXCHANGES_POSTGRES,
    ),
    Migration(
        9,
        "signals as generic rows (hash_signals, case_item_signals); case items keep "
        "their locator and disk-image facts",
        _generic_signals("sqlite"),
        _generic_signals("postgres"),
    ),
    Migration(
        10,
        "hash-set history: every import, merge and removal with its file's provenance",
        hashset_history.SQLITE,
        hashset_history.POSTGRES,
    ),
    Migration(
        11,
        "plain lists' blocks stored by columns (hash_blocks): digests, names, sizes, extras",
        bulkload.BLOCKS_SQLITE,
        bulkload.BLOCKS_POSTGRES,
    ),
)

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def current_version(db: Database) -> int:
    """The highest migration applied to ``db`` (0 for a new database)."""
    rows = db.execute("SELECT MAX(version) FROM schema_migrations")
    return int(rows[0][0] or 0)


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations ``db`` lacks; return their versions. Refuse a newer schema."""
    if db.dialect == "postgres":
        # CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator there.
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(7371)")
            db.script(_LEDGER)
    else:
        # No write lock for an existing ledger: opening the store never waits for an import.
        db.script(_LEDGER)
    known = max((m.version for m in migrations), default=0)
    have = current_version(db)
    if have > known:
        raise StoreError(
            f"the database at {db.location} has schema version {have}, newer than this "
            f"Vigil knows ({known}): upgrade Vigil"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= have:
            continue
        with db.transaction():
            if db.dialect == "postgres":
                db.execute("SELECT pg_advisory_xact_lock(7371)")  # serialise concurrent starts
            if db.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ):
                continue
            db.script(migration.sqlite if db.dialect == "sqlite" else migration.postgres)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
        applied.append(migration.version)
    return applied
