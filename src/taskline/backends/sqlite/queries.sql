-- Every statement the SQLite backend runs, by name (loaded by queries.py).
-- A query that filters on state repeats the partial index's own WHERE term word for word:
-- SQLite uses a partial index only when the query's WHERE visibly implies the index's.
-- Hot paths name their index (INDEXED BY): without statistics the planner prefers
-- tasks_by_state and then sorts every task in that state; pinned, a statement that could no
-- longer use its index fails to prepare instead of silently scanning.

-- name: get_task
SELECT * FROM tasks WHERE id = ?;

-- name: ids_in_range
-- Ids from :low up to (not including) :high: the ids with one prefix, off the primary key.
SELECT id FROM tasks WHERE id >= :low AND id < :high ORDER BY id LIMIT :limit;

-- name: insert_task
INSERT INTO tasks (
    id, type, queue, payload, priority, max_retries, timeout, scheduled_ms, unique_key, unique_ttl,
    metadata, webhook, state, attempts, result, error, errors, progress, worker_id, cancel_requested,
    webhook_status, created_ms, updated_ms, started_ms, completed_ms, due_ms, order_key, lease_token,
    lease_expires_ms, retry_base
) VALUES (
    :id, :type, :queue, :payload, :priority, :max_retries, :timeout, :scheduled_ms, :unique_key, :unique_ttl,
    :metadata, :webhook, :state, :attempts, :result, :error, :errors, :progress, :worker_id, :cancel_requested,
    :webhook_status, :created_ms, :updated_ms, :started_ms, :completed_ms, :due_ms, :order_key, :lease_token,
    :lease_expires_ms, :retry_base
);

-- name: save_task
-- Writes back every field a transition may change (type, queue and the submitted options never do).
UPDATE tasks SET
    payload = :payload, state = :state, attempts = :attempts, result = :result, error = :error,
    errors = :errors, progress = :progress, worker_id = :worker_id, cancel_requested = :cancel_requested,
    webhook_status = :webhook_status, updated_ms = :updated_ms, started_ms = :started_ms,
    completed_ms = :completed_ms, due_ms = :due_ms, order_key = :order_key, lease_token = :lease_token,
    lease_expires_ms = :lease_expires_ms, retry_base = :retry_base
WHERE id = :id
RETURNING *;

-- name: unique_holder
-- The newest task holding a unique key in a queue (older holders were taken over).
SELECT * FROM tasks WHERE queue = ? AND unique_key = ? ORDER BY id DESC LIMIT 1;

-- name: queued_in_queue
SELECT COALESCE(SUM(n), 0) FROM counts WHERE queue = ? AND state IN ('pending', 'scheduled', 'retrying');

-- name: add_queue
INSERT INTO queues (name) VALUES (?) ON CONFLICT (name) DO NOTHING;

-- name: add_queue_type
INSERT INTO queue_types (queue, type) VALUES (?, ?) ON CONFLICT (queue, type) DO NOTHING;

-- name: set_paused
INSERT INTO queues (name, paused) VALUES (:queue, :paused)
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused;

-- name: resume_queue
UPDATE queues SET paused = 0 WHERE name = :queue;

-- name: leasable_pairs
SELECT qt.queue, qt.type FROM queue_types AS qt JOIN queues AS q ON q.name = qt.queue WHERE q.paused = 0;

-- name: lease_candidates
SELECT order_key, id FROM tasks INDEXED BY tasks_leasable
WHERE state = 'pending' AND queue = ? AND type = ?
ORDER BY order_key, id
LIMIT ?;

-- name: lease_task
-- The lease ends at the earlier of now + lease_s and the attempt's deadline (started + timeout).
UPDATE tasks SET
    state = 'running', attempts = attempts + 1, worker_id = :worker_id, started_ms = :now_ms,
    lease_token = :token, lease_expires_ms = MIN(:end_ms, :now_ms + CAST(ROUND(timeout * 1000) AS INTEGER)),
    progress = NULL, updated_ms = :now_ms
WHERE id = :id AND state = 'pending'
RETURNING *;

-- name: renew_lease
-- A heartbeat: the lease ends at the earlier of now + lease_s and the attempt's deadline, as
-- lease_task set it; only a running attempt holding the token may renew it.
UPDATE tasks SET
    lease_expires_ms = MIN(:end_ms, started_ms + CAST(ROUND(timeout * 1000) AS INTEGER)),
    progress = COALESCE(:progress, progress), updated_ms = :now_ms
WHERE id = :id AND state = 'running' AND lease_token = :token
RETURNING *;

-- name: due_tasks
SELECT id, queue, priority, due_ms FROM tasks INDEXED BY tasks_due
WHERE state IN ('scheduled', 'retrying') AND due_ms <= ?
ORDER BY due_ms
LIMIT ?;

-- name: make_pending
UPDATE tasks SET state = 'pending', order_key = :order_key, updated_ms = :now_ms WHERE id = :id RETURNING *;

-- name: expired_leases
SELECT * FROM tasks INDEXED BY tasks_lease_expiry
WHERE state = 'running' AND lease_expires_ms <= ?
ORDER BY lease_expires_ms
LIMIT ?;

-- name: next_due
SELECT MIN(due_ms) FROM tasks INDEXED BY tasks_due WHERE state IN ('scheduled', 'retrying');

-- name: next_expiry
SELECT MIN(lease_expires_ms) FROM tasks INDEXED BY tasks_lease_expiry WHERE state = 'running';

-- name: counts_by_state
SELECT state, SUM(n) AS n FROM counts GROUP BY state;

-- name: all_queues
SELECT name, paused FROM queues ORDER BY name;

-- name: counts_by_queue
SELECT queue, state, priority, n FROM counts WHERE n > 0;

-- name: purge_pending
DELETE FROM tasks INDEXED BY tasks_leasable
WHERE state = 'pending' AND queue = :queue AND (:priority IS NULL OR priority = :priority)
RETURNING *;

-- name: dlq_page
-- Most recently failed first; the cursor is the (completed_ms, id) of the last row shown.
SELECT * FROM tasks INDEXED BY tasks_dead
WHERE state = 'failed' AND (completed_ms, id) < (:before_ms, :before_id)
ORDER BY completed_ms DESC, id DESC
LIMIT :limit;

-- name: dlq_all
SELECT * FROM tasks INDEXED BY tasks_dead WHERE state = 'failed' ORDER BY completed_ms, id;

-- name: dlq_delete
DELETE FROM tasks WHERE state = 'failed' RETURNING *;

-- name: trim_finished
DELETE FROM tasks WHERE id IN (
    SELECT id FROM tasks INDEXED BY tasks_finished WHERE state IN ('completed', 'cancelled') AND completed_ms < ? LIMIT ?
);

-- name: trim_dead
DELETE FROM tasks WHERE id IN (
    SELECT id FROM tasks INDEXED BY tasks_dead WHERE state = 'failed' AND completed_ms < ? LIMIT ?
);

-- name: list_all
-- The task list: newest first by id, one indexed filter leading, the others applied on the way.
SELECT * FROM tasks WHERE id < :before_id ORDER BY id DESC LIMIT :limit;

-- name: list_by_state
SELECT * FROM tasks
WHERE state = :state AND id < :before_id
    AND (:type IS NULL OR type = :type) AND (:queue IS NULL OR queue = :queue)
ORDER BY id DESC
LIMIT :limit;

-- name: list_by_queue
SELECT * FROM tasks
WHERE queue = :queue AND id < :before_id AND (:type IS NULL OR type = :type)
ORDER BY id DESC
LIMIT :limit;

-- name: list_by_type
SELECT * FROM tasks
WHERE type = :type AND id < :before_id
ORDER BY id DESC
LIMIT :limit;

-- name: ping
SELECT 1;

-- name: register_worker
-- A sighting: a new worker is active and starts now; a known one keeps what this one does not report.
INSERT INTO workers (
    id, host, pid, queues, types, concurrency, active, processed, failed, paused, started_ms, last_seen_ms
) VALUES (
    :id, :host, :pid, COALESCE(:queues, '[]'), COALESCE(:types, '[]'), :concurrency,
    COALESCE(:active, 0), COALESCE(:processed, 0), COALESCE(:failed, 0), 0, :now_ms, :now_ms
) ON CONFLICT (id) DO UPDATE SET
    host = COALESCE(:host, host), pid = COALESCE(:pid, pid), queues = COALESCE(:queues, queues),
    types = COALESCE(:types, types), concurrency = COALESCE(:concurrency, concurrency),
    active = COALESCE(:active, active), processed = COALESCE(:processed, processed),
    failed = COALESCE(:failed, failed), last_seen_ms = :now_ms, left_ms = NULL
RETURNING *;

-- name: workers_seen_since
SELECT * FROM workers WHERE last_seen_ms >= ? ORDER BY id;

-- name: count_workers_seen_since
SELECT COUNT(*) FROM workers WHERE last_seen_ms >= ?;

-- name: get_worker
SELECT * FROM workers WHERE id = ?;

-- name: set_worker_paused
UPDATE workers SET paused = ? WHERE id = ? RETURNING *;

-- name: forget_worker
DELETE FROM workers WHERE id = ? RETURNING *;

-- name: prune_workers
DELETE FROM workers WHERE last_seen_ms < ? RETURNING *;

-- name: depart_workers
-- Workers unseen since a time leave, once each (worker.left); the row stays until pruned.
UPDATE workers SET left_ms = :now_ms WHERE last_seen_ms < :before_ms AND left_ms IS NULL RETURNING *;

-- name: add_delivery
INSERT INTO webhook_outbox (id, task_id, event, task, attempts, due_ms) VALUES (:id, :task_id, :event, :task, 0, :due_ms);

-- name: claim_deliveries
-- Takes due deliveries by making them due again after the claim (webhook_outbox_by_due).
UPDATE webhook_outbox SET due_ms = :until_ms
WHERE id IN (SELECT id FROM webhook_outbox WHERE due_ms <= :now_ms ORDER BY due_ms LIMIT :limit)
RETURNING id, task_id, event, task, attempts;

-- name: delivery_attempts
SELECT attempts FROM webhook_outbox WHERE id = ?;

-- name: drop_delivery
DELETE FROM webhook_outbox WHERE id = ?;

-- name: postpone_delivery
UPDATE webhook_outbox SET attempts = attempts + 1, due_ms = :due_ms WHERE id = :id;

-- name: add_archive
INSERT INTO archive_outbox (task, added_ms) VALUES (:task, :added_ms);

-- name: read_archive
SELECT seq, task FROM archive_outbox ORDER BY seq LIMIT ?;

-- name: drop_archived
-- The seqs as a JSON array: one statement however many were archived.
DELETE FROM archive_outbox WHERE seq IN (SELECT value FROM json_each(?));

-- name: archive_backlog
SELECT count(*) AS depth, min(added_ms) AS oldest_ms FROM archive_outbox;

-- name: set_webhook_status
-- Only while the task still ends as the delivery saw it: a manual retry clears completed_ms,
-- and a new end sets another, whose own delivery then owns the status.
UPDATE tasks SET webhook_status = :status WHERE id = :task_id AND completed_ms IS :completed_ms RETURNING *;

-- name: add_sample
-- The first sample of a minute wins: a second writer changes nothing (rowcount 0).
INSERT OR IGNORE INTO samples (minute, totals) VALUES (?, ?);

-- name: trim_samples
DELETE FROM samples WHERE minute < ?;

-- name: samples_between
SELECT minute, totals FROM samples WHERE minute BETWEEN ? AND ?;

-- Periodic schedules (schedules.py).

-- name: get_schedule
SELECT * FROM schedules WHERE name = ?;

-- name: all_schedules
SELECT * FROM schedules ORDER BY name;

-- name: put_schedule
INSERT INTO schedules (name, definition, paused, created_ms, updated_ms, next_run_ms, last_run_ms, last_task_id)
VALUES (:name, :definition, :paused, :created_ms, :updated_ms, :next_run_ms, :last_run_ms, :last_task_id)
ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, paused = excluded.paused,
    updated_ms = excluded.updated_ms, next_run_ms = excluded.next_run_ms
RETURNING *;

-- name: delete_schedule
DELETE FROM schedules WHERE name = ? RETURNING *;

-- name: set_schedule_paused
UPDATE schedules SET paused = :paused, next_run_ms = :next_run_ms, updated_ms = :updated_ms
WHERE name = :name RETURNING *;

-- name: due_schedules
SELECT * FROM schedules WHERE next_run_ms <= ? ORDER BY next_run_ms LIMIT ?;

-- A compare-and-set: only the scheduler that saw `next_run_ms` as the due tick advances it.
-- name: advance_schedule
UPDATE schedules SET next_run_ms = :next_run_ms, last_run_ms = :last_run_ms,
    last_task_id = coalesce(:last_task_id, last_task_id)
WHERE name = :name AND next_run_ms = :due_ms AND paused = 0 RETURNING *;

-- name: next_schedule
SELECT min(next_run_ms) FROM schedules WHERE next_run_ms IS NOT NULL;
