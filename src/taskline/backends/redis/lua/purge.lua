-- purge.lua: pending -> deleted, for one slice of one type's pending zset.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:unique
-- KEYS[4] taskline:{q}:pending:<type>  KEYS[5] taskline:{q}:events
-- ARGV[1] priority to delete ('' all)  ARGV[2] first rank to look at  ARGV[3] how many to look at
-- ARGV[4] now_ms
-- Returns {deleted, kept, looked at}: the caller resumes at rank first + kept (kept tasks stay
-- in place) until it looks at none.
local tasks_key, counts_key, uniques_key, pending_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local priority = tonumber(ARGV[1])
local first, count = tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGE', pending_key, first, first + count - 1)
local deleted, kept = 0, 0
begin_tally()
for _, id in ipairs(ids) do
  local task = load_task(tasks_key, id)
  if task and priority and task.priority ~= priority then
    kept = kept + 1
  else
    redis.call('ZREM', pending_key, id)
    if task then
      delete_task(tasks_key, counts_key, uniques_key, id, task)
      task_event({events = KEYS[5]}, 'task.deleted', id, encode_record(task), tonumber(ARGV[4]))
      deleted = deleted + 1
    end
  end
end
flush_tally()
return {deleted, kept, #ids}
