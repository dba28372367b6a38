-- withdraw.lua: undo a submit of one queue (pending | scheduled -> deleted) when another queue
-- of the same batch refused it, so the batch stays all or nothing.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:scheduled
-- KEYS[4] taskline:{q}:unique  KEYS[5] taskline:{q}:events
-- KEYS[6..] taskline:{q}:pending:<type>, one per type of the batch
-- ARGV[1] now_ms  ARGV[2..] 2 per task: id, pending key index into KEYS (0 when it was submitted scheduled)
-- Returns how many were deleted.
local tasks_key, counts_key, scheduled_key, uniques_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local deleted = 0
for b = 2, #ARGV, 2 do
  local id, pending_index = ARGV[b], tonumber(ARGV[b + 1])
  local task = load_task(tasks_key, id)
  if task and (task.state == 'pending' or task.state == 'scheduled') then
    if pending_index > 0 then
      redis.call('ZREM', KEYS[pending_index], id)
    end
    redis.call('ZREM', scheduled_key, id)
    delete_task(tasks_key, counts_key, uniques_key, id, task)
    task_event({events = KEYS[5]}, 'task.deleted', id, encode_record(task), tonumber(ARGV[1]))
    deleted = deleted + 1
  end
end
return deleted
