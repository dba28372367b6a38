-- cancel.lua: pending | scheduled | retrying -> cancelled; running -> running with cancel_requested.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:scheduled
-- KEYS[4] taskline:{q}:retrying  KEYS[5] taskline:{q}:cancelled  KEYS[6] taskline:{q}:pending:<type of the task>
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics
-- KEYS[9] taskline:{q}:outbox  KEYS[10] taskline:{q}:deliveries  KEYS[11] taskline:{q}:archive
-- ARGV[1] task id  ARGV[2] now_ms
-- Returns the record. Error reply NOT_FOUND <id> | INVALID_STATE <state> (the task is terminal).
local tasks_key, counts_key, scheduled_key, retrying_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cancelled_key, pending_key = KEYS[5], KEYS[6]
local id, now = ARGV[1], tonumber(ARGV[2])
local ev = {tasks = KEYS[1], events = KEYS[7], metrics = KEYS[8], outbox = KEYS[9], deliveries = KEYS[10],
  archive = KEYS[11]}
local task = load_task(tasks_key, id)
if not task then
  return redis.error_reply('NOT_FOUND ' .. id)
end
if is_terminal(task.state) then
  return redis.error_reply('INVALID_STATE ' .. task.state)
end
task.updated_ms = now
if task.state == 'running' then
  task.cancel_requested = true
  return save_task(tasks_key, id, task)
end
if task.state == 'pending' then
  redis.call('ZREM', pending_key, id)
elseif task.state == 'scheduled' then
  redis.call('ZREM', scheduled_key, id)
else
  redis.call('ZREM', retrying_key, id)
end
move_count(counts_key, count_field(task), 'cancelled')
task.state = 'cancelled'
task.completed_ms = now
redis.call('ZADD', cancelled_key, now, id)
return record(ev, 'task.cancelled', id, task, now, false)
