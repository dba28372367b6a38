-- forget_workers.lua: delete workers' records: those that shut down, or were gone too long.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2..] taskline:{~workers}:worker:<id>, one per worker
-- ARGV[1] only those last seen before this ms ('' any: the worker said it left)
-- ARGV[2..] the worker ids, in the order of KEYS[2..]
-- Returns how many records were deleted. A worker seen again since it was picked is kept.
local seen_key = KEYS[1]
local before = tonumber(ARGV[1])
local deleted = 0
for i = 2, #KEYS do
  local last_seen = tonumber(redis.call('ZSCORE', seen_key, ARGV[i]))
  if last_seen and (before == nil or last_seen < before) then
    redis.call('ZREM', seen_key, ARGV[i])
    redis.call('DEL', KEYS[i])
    deleted = deleted + 1
  end
end
return deleted
