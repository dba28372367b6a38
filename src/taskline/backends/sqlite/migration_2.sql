-- Schema version 2: the worker registry (SPEC §3 "Admin"). Applied after schema.sql on a new
-- file and on its own to a version 1 file; idempotent, like the schema itself.

BEGIN IMMEDIATE;

-- One row per worker id seen polling or heartbeating. queues and types are JSON arrays
-- (empty: any); the counts are what the worker last reported.
CREATE TABLE IF NOT EXISTS workers (
    id           TEXT    NOT NULL PRIMARY KEY,
    host         TEXT,
    pid          INTEGER,
    queues       TEXT    NOT NULL,
    types        TEXT    NOT NULL,
    concurrency  INTEGER,
    active       INTEGER NOT NULL,
    processed    INTEGER NOT NULL,
    failed       INTEGER NOT NULL,
    paused       INTEGER NOT NULL,
    started_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- The listing (seen in the last minute) and the pruning of long-gone workers.
CREATE INDEX IF NOT EXISTS workers_by_last_seen ON workers (last_seen_ms);

PRAGMA user_version = 2;

COMMIT;
