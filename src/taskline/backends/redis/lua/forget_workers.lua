-- forget_workers.lua: delete workers' records: those that shut down, or were gone too long.
-- One that had not left yet leaves now: worker.left.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:events
-- KEYS[3..] taskline:{~workers}:worker:<id>, one per worker
-- A worker that said it left keeps, in place of its hash, when it did (`said_left_ms`, for
-- `departure_kept_ms`; known to the registry or not), so a request in flight as it shut down
-- does not bring it back (register_worker).
-- ARGV[1] only those last seen before this ms ('' any: the worker said it left)  ARGV[2] now_ms
-- ARGV[3] departure_kept_ms  ARGV[4..] the worker ids, in the order of KEYS[3..]
-- Returns how many records were deleted. A worker seen again since it was picked is kept.
local seen_key, events_key = KEYS[1], KEYS[2]
local before, now, kept_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local deleted = 0
for i = 3, #KEYS do
  local id = ARGV[i + 1]
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
  if before == nil then
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[i], 'said_left_ms', now)
    redis.call('PEXPIRE', KEYS[i], kept_ms)
  end
end
return deleted
