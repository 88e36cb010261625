"""The service's tables (migration 3).

API keys, webhooks, their event queue, the match log, disabled entries and the change
counter that serving processes poll.

Why a change counter: every write the service makes to hash sets (an entry added or
disabled, a set created, renamed, re-thresholded or deleted) bumps one row, so that
each serving process learns of it with one cheap ``SELECT`` a second instead of
re-reading every set (see ``vigil.web.freshness``). Imports by the CLI are seen through
the sets' own version columns, which the same poll reads.

Why a queue table for webhook events: an event is written in the same breath as the
match log row, before any delivery is tried, so that a crash or restart loses none;
delivery is at least once, and every event has an id that receivers use to dedupe.
"""

from __future__ import annotations

SQLITE = """
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('matcher', 'curator', 'admin')),
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    rate_per_second REAL
);
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    delivered_at TEXT,
    last_error TEXT,
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_events_due ON webhook_events (delivered_at, next_attempt_at);
CREATE TABLE match_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    key_name TEXT NOT NULL,
    route TEXT NOT NULL,
    event_id TEXT NOT NULL,
    query TEXT NOT NULL,
    matches TEXT NOT NULL
);
CREATE TABLE entry_disabled (
    set_id INTEGER NOT NULL,
    entry_no INTEGER NOT NULL,
    until REAL,
    at TEXT NOT NULL,
    by_key TEXT,
    PRIMARY KEY (set_id, entry_no)
);
CREATE TABLE service_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO service_changes (id, generation) VALUES (1, 0)
"""

POSTGRES = """
CREATE TABLE api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('matcher', 'curator', 'admin')),
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    rate_per_second DOUBLE PRECISION
);
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE webhook_events (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id BIGINT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION,
    delivered_at TEXT,
    last_error TEXT,
    UNIQUE (event_id, webhook_id)
);
CREATE INDEX webhook_events_due ON webhook_events (delivered_at, next_attempt_at);
CREATE TABLE match_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    key_name TEXT NOT NULL,
    route TEXT NOT NULL,
    event_id TEXT NOT NULL,
    query TEXT NOT NULL,
    matches TEXT NOT NULL
);
CREATE TABLE entry_disabled (
    set_id BIGINT NOT NULL,
    entry_no BIGINT NOT NULL,
    until DOUBLE PRECISION,
    at TEXT NOT NULL,
    by_key TEXT,
    PRIMARY KEY (set_id, entry_no)
);
CREATE TABLE service_changes (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO service_changes (id, generation) VALUES (1, 0)
"""
