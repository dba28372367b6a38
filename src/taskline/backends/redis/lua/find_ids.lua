-- find_ids.lua: read-only; the ids of one queue's stored tasks that start with a prefix, read off
-- the creation log between the log ids the prefix's lowest and highest ids map to (log ids sort
-- as task ids do, so that range holds every id with the prefix, and a few without it).
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:log
-- ARGV[1] first log id of the range  ARGV[2] last log id of the range
-- ARGV[3] the prefix (a canonical id's start)  ARGV[4] most ids to return
-- Returns the ids that start with the prefix and whose task is still stored, in id order.
local tasks_key, log_key = KEYS[1], KEYS[2]
local prefix, want = ARGV[3], tonumber(ARGV[4])
local found = {}
local start = ARGV[1]
while true do
  local entries = redis.call('XRANGE', log_key, start, ARGV[2], 'COUNT', 500)
  for _, entry in ipairs(entries) do
    local id = logged_task_id(entry)
    -- the log outlives purged and deleted tasks: only an id the tasks hash still holds counts
    if string.sub(id, 1, #prefix) == prefix and redis.call('HEXISTS', tasks_key, id) == 1 then
      found[#found + 1] = id
      if #found >= want then
        return found
      end
    end
  end
  if #entries < 500 then
    return found
  end
  start = '(' .. entries[#entries][1]
end
