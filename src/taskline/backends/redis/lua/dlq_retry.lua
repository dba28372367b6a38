-- dlq_retry.lua: failed -> pending for the listed tasks of one queue (manual retry, never
-- refused for queue size); ids that are not failed are skipped.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:failed
-- KEYS[4] taskline:{q}:events  KEYS[5] taskline:{q}:metrics
-- KEYS[6..] taskline:{q}:pending:<type>, one per type of the queue
-- ARGV[1] now_ms  ARGV[2..5] order-key offsets of priorities 0..3  ARGV[6] wake channel
-- ARGV[7] queue name  ARGV[8] n = number of types  ARGV[9..8+n] the types of KEYS[6..], in order
-- ARGV[9+n..] task ids
-- Returns {moved, 1 if a task's type was not among the types (read them again) else 0}.
local tasks_key, counts_key, failed_key = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])
local ev = {tasks = tasks_key, events = KEYS[4], metrics = KEYS[5]}
local offsets = read_offsets(2)
local n = tonumber(ARGV[8])
local pending_index = {}
for i = 1, n do
  pending_index[ARGV[8 + i]] = 5 + i
end
local moved, unknown_type = 0, 0
begin_tally()
for i = 9 + n, #ARGV do
  local id = ARGV[i]
  local task = load_task(tasks_key, id)
  if task and task.state == 'failed' then
    if not pending_index[task.type] then
      unknown_type = 1
    else
      redis.call('ZREM', failed_key, id)
      requeue_by_hand(counts_key, KEYS[pending_index[task.type]], id, task, now, offsets)
      record(ev, 'task.pending', id, task, now, false)
      moved = moved + 1
    end
  end
end
flush_tally()
if moved > 0 then
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
return {moved, unknown_type}
