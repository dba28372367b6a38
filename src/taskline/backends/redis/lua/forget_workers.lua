-- forget_workers.lua: delete workers' records: those that shut down, or were gone too long.
-- One that had not left yet leaves now: worker.left.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:events
-- KEYS[3..] taskline:{~workers}:worker:<id>, one per worker
-- ARGV[1] only those last seen before this ms ('' any: the worker said it left)  ARGV[2] now_ms
-- ARGV[3..] the worker ids, in the order of KEYS[3..]
-- Returns how many records were deleted. A worker seen again since it was picked is kept.
local seen_key, events_key = KEYS[1], KEYS[2]
local before, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local deleted = 0
for i = 3, #KEYS do
  local id = ARGV[i]
  local last_seen = tonumber(redis.call('ZSCORE', seen_key, id))
  if last_seen and (before == nil or last_seen < before) then
    local flat = redis.call('HGETALL', KEYS[i])
    if redis.call('HEXISTS', KEYS[i], 'left') == 0 then
      worker_event(events_key, 'worker.left', id, now, flat)
    end
    redis.call('ZREM', seen_key, id)
    redis.call('DEL', KEYS[i])
    deleted = deleted + 1
  end
end
return deleted
