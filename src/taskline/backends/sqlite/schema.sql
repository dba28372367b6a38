-- Taskline's embedded store, schema version 1 (PRAGMA user_version).
-- Times are integer milliseconds since the Unix epoch; JSON columns hold orjson text.
-- Applied in one transaction on a fresh file; every statement is idempotent so two
-- processes opening the same new file at once cannot trip over each other.

BEGIN IMMEDIATE;

CREATE TABLE IF NOT EXISTS tasks (
    id               TEXT    NOT NULL PRIMARY KEY,  -- UUIDv7: sorts by creation
    type             TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    priority         INTEGER NOT NULL,
    max_retries      INTEGER NOT NULL,
    timeout          REAL    NOT NULL,              -- seconds, as submitted
    scheduled_ms     INTEGER,
    unique_key       TEXT,
    unique_ttl       INTEGER NOT NULL,
    metadata         TEXT    NOT NULL,
    webhook          TEXT,
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL,
    result           TEXT    NOT NULL,
    error            TEXT,
    errors           TEXT    NOT NULL,
    progress         REAL,
    worker_id        TEXT,
    cancel_requested INTEGER NOT NULL,
    webhook_status   TEXT    NOT NULL,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    started_ms       INTEGER,
    completed_ms     INTEGER,
    due_ms           INTEGER NOT NULL,
    order_key        INTEGER NOT NULL,              -- core.priority.order_key: lower leases first
    lease_token      TEXT,
    lease_expires_ms INTEGER,
    retry_base       INTEGER NOT NULL
);

-- Every hot path reads a partial index that holds only the rows it can want, so its cost
-- is O(log n) in the size of the table and the index churn of a transition stays small.
CREATE INDEX IF NOT EXISTS tasks_leasable ON tasks (queue, type, order_key, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (due_ms) WHERE state IN ('scheduled', 'retrying');
CREATE INDEX IF NOT EXISTS tasks_lease_expiry ON tasks (lease_expires_ms) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks (completed_ms) WHERE state IN ('completed', 'cancelled');
CREATE INDEX IF NOT EXISTS tasks_dead ON tasks (completed_ms, id) WHERE state = 'failed';
CREATE INDEX IF NOT EXISTS tasks_unique ON tasks (queue, unique_key, id) WHERE unique_key IS NOT NULL;
-- The task list pages newest first by id under one filter; queue and type never change
-- after insert, so only the state index moves with a transition.
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, id);
CREATE INDEX IF NOT EXISTS tasks_by_queue ON tasks (queue, id);
CREATE INDEX IF NOT EXISTS tasks_by_type ON tasks (type, id);

-- Known queues and whether workers may take from them.
CREATE TABLE IF NOT EXISTS queues (
    name   TEXT    NOT NULL PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Every (queue, type) pair ever submitted, so a lease for "any type" probes tasks_leasable
-- once per pair instead of scanning the pending tasks.
CREATE TABLE IF NOT EXISTS queue_types (
    queue TEXT NOT NULL,
    type  TEXT NOT NULL,
    PRIMARY KEY (queue, type)
) WITHOUT ROWID;

-- Tasks per (queue, state, priority), kept by the triggers below: counts, queue stats and
-- the max_queue_size check cost O(queues), never O(tasks).
CREATE TABLE IF NOT EXISTS counts (
    queue    TEXT    NOT NULL,
    state    TEXT    NOT NULL,
    priority INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (queue, state, priority)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS counts_on_insert AFTER INSERT ON tasks
BEGIN
    INSERT INTO counts (queue, state, priority, n) VALUES (new.queue, new.state, new.priority, 1)
        ON CONFLICT (queue, state, priority) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER IF NOT EXISTS counts_on_delete AFTER DELETE ON tasks
BEGIN
    UPDATE counts SET n = n - 1 WHERE queue = old.queue AND state = old.state AND priority = old.priority;
END;

CREATE TRIGGER IF NOT EXISTS counts_on_update AFTER UPDATE OF state, priority, queue ON tasks
WHEN old.state IS NOT new.state OR old.priority IS NOT new.priority OR old.queue IS NOT new.queue
BEGIN
    UPDATE counts SET n = n - 1 WHERE queue = old.queue AND state = old.state AND priority = old.priority;
    INSERT INTO counts (queue, state, priority, n) VALUES (new.queue, new.state, new.priority, 1)
        ON CONFLICT (queue, state, priority) DO UPDATE SET n = n + 1;
END;

PRAGMA user_version = 1;

COMMIT;
