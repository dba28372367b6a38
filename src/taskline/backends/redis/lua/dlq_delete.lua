-- dlq_delete.lua: failed -> deleted, the oldest `limit` failed tasks of one queue.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:failed
-- KEYS[4] taskline:{q}:unique  KEYS[5] taskline:{q}:events
-- ARGV[1] limit  ARGV[2] now_ms
-- Returns how many were deleted (0: the DLQ of this queue is empty).
local tasks_key, counts_key, failed_key, uniques_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ids = redis.call('ZRANGE', failed_key, 0, tonumber(ARGV[1]) - 1)
local deleted = 0
begin_tally()
for _, id in ipairs(ids) do
  redis.call('ZREM', failed_key, id)
  local task = load_task(tasks_key, id)
  if task then
    delete_task(tasks_key, counts_key, uniques_key, id, task)
    task_event({events = KEYS[5]}, 'task.deleted', id, encode_record(task), tonumber(ARGV[2]))
    deleted = deleted + 1
  end
end
flush_tally()
return deleted
