-- trim_retention.lua: completed | cancelled | failed -> deleted once past retention, and the
-- creation log trimmed up to its oldest live task.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:unique
-- KEYS[4] taskline:{q}:completed  KEYS[5] taskline:{q}:cancelled  KEYS[6] taskline:{q}:failed
-- KEYS[7] taskline:{q}:log
-- ARGV[1] finished before this (ms) is gone for completed and cancelled  ARGV[2] same for failed
-- ARGV[3] limit  ARGV[4] how many log entries to look at
-- Returns how many tasks were deleted.
local tasks_key, counts_key, uniques_key = KEYS[1], KEYS[2], KEYS[3]
local completed_key, cancelled_key, failed_key, log_key = KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local limit = tonumber(ARGV[3])
local deleted = 0
local function trim(index_key, cutoff)
  if deleted >= limit then
    return
  end
  local ids = redis.call('ZRANGEBYSCORE', index_key, '-inf', '(' .. cutoff, 'LIMIT', 0, limit - deleted)
  for _, id in ipairs(ids) do
    redis.call('ZREM', index_key, id)
    local task = load_task(tasks_key, id)
    if task then
      delete_task(tasks_key, counts_key, uniques_key, id, task)
      deleted = deleted + 1
    end
  end
end
begin_tally()
trim(completed_key, ARGV[1])
trim(cancelled_key, ARGV[1])
trim(failed_key, ARGV[2])
flush_tally()
-- The log can only lose its oldest entries: trim up to the first whose task still exists,
-- looking at up to ARGV[4] entries LOG_STEP at a time. A log whose head is live costs one short
-- XRANGE, and a long dead head (after a trim or a purge) is cut by the budget, not read whole:
-- one XRANGE of 1,000 entries cost more Redis time than the hundred tasks deleted above.
local LOG_STEP = 100
local budget = tonumber(ARGV[4])
local first_live, last_dead = nil, nil
local from = '-'
while budget > 0 and not first_live do
  local entries = redis.call('XRANGE', log_key, from, '+', 'COUNT', math.min(LOG_STEP, budget))
  if #entries == 0 then
    break
  end
  for _, entry in ipairs(entries) do
    if redis.call('HEXISTS', tasks_key, logged_task_id(entry)) == 1 then
      first_live = entry[1]
      break
    end
    last_dead = entry[1]
  end
  budget = budget - #entries
  from = '(' .. entries[#entries][1]
end
if first_live then
  redis.call('XTRIM', log_key, 'MINID', first_live)
elseif last_dead then
  -- Every entry looked at is dead; the last one goes on the next call.
  redis.call('XTRIM', log_key, 'MINID', last_dead)
end
return deleted
