-- release.lua: running -> pending without using up the attempt (a worker shutting down hands
-- it back); running -> cancelled instead when a cancel was asked for, so it never runs again.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:cancelled  KEYS[5] taskline:{q}:pending:<type of the task>
-- KEYS[6] taskline:{q}:events  KEYS[7] taskline:{q}:metrics
-- KEYS[8] taskline:{q}:outbox  KEYS[9] taskline:{q}:deliveries  KEYS[10] taskline:{q}:archive
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4..7] order-key offsets of
--   priorities 0..3  ARGV[8] wake channel  ARGV[9] queue name
-- Returns the record. Error reply NOT_FOUND <id> | LEASE_LOST.
local tasks_key, counts_key, running_key, cancelled_key, pending_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, token, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ev = {tasks = KEYS[1], events = KEYS[6], metrics = KEYS[7], outbox = KEYS[8], deliveries = KEYS[9],
  archive = KEYS[10]}
local task, refused = leased_task(tasks_key, id, token)
if refused then
  return refused
end
redis.call('ZREM', running_key, id)
task.lease_token = nil
task.lease_expires_ms = nil
task.worker_id = nil
task.updated_ms = now
if task.cancel_requested then
  task.state = 'cancelled'
  task.completed_ms = now
  redis.call('ZADD', cancelled_key, now, id)
  move_count(counts_key, 'running', 'cancelled')
else
  -- The attempt is given back, unstarted; the task goes back in its old place (the due time
  -- it had when first leased).
  task.attempts = task.attempts - 1
  task.started_ms = nil
  task.progress = nil
  enqueue(counts_key, pending_key, id, task, read_offsets(4))
  redis.call('PUBLISH', ARGV[8], ARGV[9])
end
return record(ev, 'task.' .. task.state, id, task, now, false)
