-- settle_delivery.lua: record one webhook attempt's outcome: delivered | failed -> out of the
-- outbox, pending -> due again; the task's webhook_status follows; counted for /metrics.
-- KEYS[1] taskline:{q}:outbox  KEYS[2] taskline:{q}:deliveries  KEYS[3] taskline:{q}:tasks
-- KEYS[4] taskline:{q}:metrics  KEYS[5] taskline:{q}:archive
-- ARGV[1] delivery id  ARGV[2] task id  ARGV[3] attempts made before this one (the claim's)
-- ARGV[4] state: delivered | pending | failed  ARGV[5] due_ms of the next attempt (pending)
-- ARGV[6] webhook_status JSON  ARGV[7] the ended task's completed_ms ('' if none)
-- ARGV[8] metric outcome: delivered | retried | failed
-- Returns 1 if settled, 0 if this attempt was settled already (another dispatcher took it).
local outbox_key, deliveries_key, tasks_key, metrics_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, task_id, state = ARGV[1], ARGV[2], ARGV[4]
local raw = redis.call('HGET', deliveries_key, id)
if not raw then
  return 0
end
-- The delivery's head (task id, event, attempts), and where its record starts.
local offset, delivery_task, event, attempts = cmsgpack.unpack_limit(raw, 3, 1)
if attempts ~= tonumber(ARGV[3]) then
  return 0
end
if state == 'pending' then
  redis.call('HSET', deliveries_key, id, delivery_value(delivery_task, event, attempts + 1, string.sub(raw, offset + 1)))
  redis.call('ZADD', outbox_key, tonumber(ARGV[5]), id)
else
  redis.call('HDEL', deliveries_key, id)
  redis.call('ZREM', outbox_key, id)
end
-- Only the status of the ending this delivery reports: after a manual retry and a new end,
-- completed_ms differs and the newer delivery owns webhook_status.
local task = load_task(tasks_key, task_id)
if task and ARGV[7] ~= '' and task.completed_ms == tonumber(ARGV[7]) then
  task.webhook_status = ARGV[6]
  local saved = save_task(tasks_key, task_id, task)
  if state ~= 'pending' then
    -- History took the task at its end, with the delivery pending: give it the final status.
    archive_end(KEYS[5], task_id, saved)
  end
end
redis.call('HINCRBY', metrics_key, 'webhook|' .. ARGV[8], 1)
return 1
