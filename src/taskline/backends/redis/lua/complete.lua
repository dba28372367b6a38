-- complete.lua: running -> completed if the lease token is the running attempt's.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:completed  KEYS[5] taskline:{q}:events  KEYS[6] taskline:{q}:metrics
-- KEYS[7] taskline:{q}:outbox  KEYS[8] taskline:{q}:deliveries
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4] encoded result ('' none)
-- Returns the record; the same token on the completed task returns it unchanged.
-- Error reply NOT_FOUND | LEASE_LOST.
local tasks_key, counts_key, running_key, completed_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, token, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ev = {tasks = KEYS[1], events = KEYS[5], metrics = KEYS[6], outbox = KEYS[7], deliveries = KEYS[8]}
local task = load_task(tasks_key, id)
if not task then
  return redis.error_reply('NOT_FOUND')
end
if task.lease_token ~= token then
  return redis.error_reply('LEASE_LOST')
end
if task.state == 'completed' then
  return redis.call('HGET', tasks_key, id)
end
if task.state ~= 'running' then
  return redis.error_reply('LEASE_LOST')
end
task.state = 'completed'
task.completed_ms = now
task.updated_ms = now
task.worker_id = nil
task.lease_expires_ms = nil
if ARGV[4] ~= '' then
  task.result = ARGV[4]
end
redis.call('ZREM', running_key, id)
redis.call('ZADD', completed_key, now, id)
move_count(counts_key, 'running', 'completed')
return record(ev, 'task.completed', id, task, now, true)
