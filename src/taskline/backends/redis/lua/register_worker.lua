-- register_worker.lua: a sighting of a worker: created (active, started now) on first sight,
-- the reported fields overwritten, the others kept, last seen now. A new worker, or one that
-- had left (unseen too long) and is back, joins: worker.joined.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:worker:<id>
-- KEYS[3] taskline:{~workers}:events
-- ARGV[1] worker id  ARGV[2] now_ms  ARGV[3..] field, value pairs reported by the worker
-- Returns the worker's hash as a flat field, value array.
local seen_key, worker_key = KEYS[1], KEYS[2]
local id, now = ARGV[1], ARGV[2]
local joined = false
if redis.call('HSETNX', worker_key, 'started_ms', now) == 1 then
  redis.call('HSET', worker_key, 'state', 'active')
  joined = true
elseif redis.call('HDEL', worker_key, 'left') == 1 then
  joined = true
end
if #ARGV > 2 then
  redis.call('HSET', worker_key, unpack(ARGV, 3))
end
redis.call('HSET', worker_key, 'last_seen_ms', now)
redis.call('ZADD', seen_key, now, id)
local flat = redis.call('HGETALL', worker_key)
if joined then
  worker_event(KEYS[3], 'worker.joined', id, tonumber(now), flat)
end
return flat
