-- Schema version 3: what operators watch (events, webhooks). Applied after version 2.

BEGIN IMMEDIATE;

-- When a worker unseen for a minute was announced as left (worker.left); NULL while present.
ALTER TABLE workers ADD COLUMN left_ms INTEGER;

-- Webhook deliveries still to make (SPEC §6), written in the same transaction as the terminal
-- state that calls for them, so a crash between the two loses nothing. `task` is the task
-- as it ended (records.py's row, as JSON); `due_ms` is when the next attempt may be made.
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id       TEXT    NOT NULL PRIMARY KEY,
    task_id  TEXT    NOT NULL,
    event    TEXT    NOT NULL,
    task     TEXT    NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_ms   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS webhook_outbox_by_due ON webhook_outbox (due_ms);

PRAGMA user_version = 3;

COMMIT;
