-- Schema version 4: the per-minute samples behind GET /api/v1/stats/series. Applied after version 3.

BEGIN IMMEDIATE;

-- The task totals at the start of each minute (minutes since the epoch), as core.samples'
-- JSON. The first sample of a minute stays (INSERT OR IGNORE); the last 1,440 minutes are kept.
CREATE TABLE IF NOT EXISTS samples (
    minute INTEGER NOT NULL PRIMARY KEY,
    totals TEXT    NOT NULL
);

PRAGMA user_version = 4;

COMMIT;
