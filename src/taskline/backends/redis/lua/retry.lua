-- retry.lua: failed | cancelled -> pending (manual retry): attempts kept, max_retries counted
-- afresh from here, never refused for queue size.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:failed
-- KEYS[4] taskline:{q}:cancelled  KEYS[5] taskline:{q}:pending:<type of the task>
-- KEYS[6] taskline:{q}:events  KEYS[7] taskline:{q}:metrics
-- ARGV[1] task id  ARGV[2] now_ms  ARGV[3] encoded new payload ('' keep)  ARGV[4..7] order-key
--   offsets of priorities 0..3  ARGV[8] wake channel  ARGV[9] queue name
-- Returns the record. Error reply NOT_FOUND <id> | INVALID_STATE <state>.
local tasks_key, counts_key, failed_key, cancelled_key, pending_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, now = ARGV[1], tonumber(ARGV[2])
local task = load_task(tasks_key, id)
if not task then
  return redis.error_reply('NOT_FOUND ' .. id)
end
if task.state ~= 'failed' and task.state ~= 'cancelled' then
  return redis.error_reply('INVALID_STATE ' .. task.state)
end
redis.call('ZREM', failed_key, id)
redis.call('ZREM', cancelled_key, id)
if ARGV[3] ~= '' then
  task.payload = ARGV[3]
end
requeue_by_hand(counts_key, pending_key, id, task, now, read_offsets(4))
redis.call('PUBLISH', ARGV[8], ARGV[9])
return record({tasks = tasks_key, events = KEYS[6], metrics = KEYS[7]}, 'task.pending', id, task, now, false)
