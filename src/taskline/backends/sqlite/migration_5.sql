-- Schema version 5: the PostgreSQL history's outbox. Applied after version 4.

BEGIN IMMEDIATE;

-- Tasks as they ended (records.py's row, as JSON), written in the transaction of the end while
-- history is on (TASKLINE_POSTGRES_URL), copied to PostgreSQL by the archiver and then deleted
-- by `seq`. A row per end, not per task: a task retried by hand that ends again adds a second
-- row, which deleting the first cannot touch. AUTOINCREMENT: a seq is never reused, so a delete
-- of an archived seq can never hit a newer row.
CREATE TABLE IF NOT EXISTS archive_outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    task     TEXT    NOT NULL,
    added_ms INTEGER NOT NULL
);

PRAGMA user_version = 5;

COMMIT;
