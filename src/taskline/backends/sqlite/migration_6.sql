-- Schema version 6: periodic schedules (SPEC §10). Applied after version 5.

BEGIN IMMEDIATE;

-- One row per schedule. `definition` is core.schedules.definition_json (name, cron, every,
-- timezone, task) as JSON; the run state beside it in columns, so the scheduler finds the due
-- ones by index and advances one with a compare-and-set on `next_run_ms`. `next_run_ms` is
-- NULL while paused.
CREATE TABLE IF NOT EXISTS schedules (
    name         TEXT    PRIMARY KEY,
    definition   TEXT    NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    next_run_ms  INTEGER,
    last_run_ms  INTEGER,
    last_task_id TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS schedules_due ON schedules (next_run_ms) WHERE next_run_ms IS NOT NULL;

PRAGMA user_version = 6;

COMMIT;
