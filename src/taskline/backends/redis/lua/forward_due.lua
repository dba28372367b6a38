-- forward_due.lua: scheduled | retrying -> pending for tasks of one queue due by now.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:scheduled
-- KEYS[4] taskline:{q}:retrying  KEYS[5] taskline:{q}:events  KEYS[6] taskline:{q}:metrics
-- KEYS[7..] taskline:{q}:pending:<type>, one per type of the queue
-- ARGV[1] now_ms  ARGV[2] limit  ARGV[3..6] order-key offsets of priorities 0..3
-- ARGV[7] wake channel  ARGV[8] queue name  ARGV[9..] the types of KEYS[7..], in order
-- Returns {moved, 1 if a due task's type was not among ARGV[9..] (read the types again) else 0}.
local tasks_key, counts_key, scheduled_key, retrying_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local offsets = read_offsets(3)
local ev = {tasks = tasks_key, events = KEYS[5], metrics = KEYS[6]}
local pending_index = {}
for i = 9, #ARGV do
  pending_index[ARGV[i]] = i - 2
end
local moved, unknown_type = 0, 0
begin_tally()
local function forward(source_key)
  if moved >= limit or unknown_type == 1 then
    return
  end
  local due = redis.call('ZRANGEBYSCORE', source_key, '-inf', now, 'LIMIT', 0, limit - moved)
  for _, id in ipairs(due) do
    local task = load_task(tasks_key, id)
    if not task then
      redis.call('ZREM', source_key, id)
    elseif not pending_index[task.type] then
      unknown_type = 1
      return
    else
      redis.call('ZREM', source_key, id)
      task.updated_ms = now
      enqueue(counts_key, KEYS[pending_index[task.type]], id, task, offsets)
      record(ev, 'task.pending', id, task, now, false)
      moved = moved + 1
    end
  end
end
forward(scheduled_key)
forward(retrying_key)
flush_tally()
if moved > 0 then
  redis.call('PUBLISH', ARGV[7], ARGV[8])
end
return {moved, unknown_type}
