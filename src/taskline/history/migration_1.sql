-- History schema version 1: the tasks table, one row per task, as it last ended.
-- Columns are the task's fields of SPEC §1 (the API's task JSON); times are timestamptz. User
-- data is `json`, not `jsonb`: it keeps the text as Taskline stored it (key order, and
-- "\u0000", which jsonb refuses and which would otherwise stop the archiver on that task).
-- `id` sorts bytewise (COLLATE "C"): UUIDv7 text in that order is creation order, which the
-- listing (newest first, cursor = last id) relies on, as the live backends do.
CREATE TABLE IF NOT EXISTS tasks (
    id               text COLLATE "C" PRIMARY KEY,
    type             text             NOT NULL,
    queue            text             NOT NULL,
    state            text             NOT NULL,
    priority         smallint         NOT NULL,
    payload          json,
    result           json,
    error            text,
    errors           json             NOT NULL DEFAULT '[]',
    progress         double precision,
    max_retries      integer          NOT NULL,
    timeout          double precision NOT NULL,
    scheduled_at     timestamptz,
    unique_key       text,
    unique_ttl       integer          NOT NULL,
    metadata         json             NOT NULL DEFAULT '{}',
    webhook          text,
    webhook_status   json,
    attempts         integer          NOT NULL,
    cancel_requested boolean          NOT NULL DEFAULT false,
    created_at       timestamptz      NOT NULL,
    updated_at       timestamptz      NOT NULL,
    started_at       timestamptz,
    completed_at     timestamptz,
    archived_at      timestamptz      NOT NULL DEFAULT now()
);

-- The listing filters by one of these and pages by id, newest first.
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, id);
CREATE INDEX IF NOT EXISTS tasks_by_type ON tasks (type, id);
CREATE INDEX IF NOT EXISTS tasks_by_queue ON tasks (queue, id);
-- For people querying the table by time (reports, their own retention).
CREATE INDEX IF NOT EXISTS tasks_by_created_at ON tasks (created_at);
