-- heartbeat.lua: running -> running, lease renewed up to the attempt's deadline, progress stored.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:running  KEYS[3] taskline:{q}:events
-- KEYS[4] taskline:{q}:metrics
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4] lease_ms  ARGV[5] progress ('' keep)
-- Returns {lease_expires_ms, cancel_requested (0|1)}; error reply NOT_FOUND <id> | LEASE_LOST.
local tasks_key, running_key = KEYS[1], KEYS[2]
local id, token, now, lease_ms = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local task, refused = leased_task(tasks_key, id, token)
if refused then
  return refused
end
task.lease_expires_ms = math.min(now + lease_ms, task.started_ms + task.timeout_ms)
task.updated_ms = now
redis.call('ZADD', running_key, task.lease_expires_ms, id)
if ARGV[5] ~= '' then
  -- Kept as the caller's decimal string so no precision is lost on the way through Lua.
  task.progress = ARGV[5]
  record({tasks = tasks_key, events = KEYS[3], metrics = KEYS[4]}, 'task.progress', id, task, now, false)
else
  save_task(tasks_key, id, task)
end
return {task.lease_expires_ms, task.cancel_requested and 1 or 0}
