-- register_worker.lua: a sighting of a worker: created (active, started now) on first sight,
-- the reported fields overwritten, the others kept, last seen now.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:worker:<id>
-- ARGV[1] worker id  ARGV[2] now_ms  ARGV[3..] field, value pairs reported by the worker
-- Returns the worker's hash as a flat field, value array.
local seen_key, worker_key = KEYS[1], KEYS[2]
local id, now = ARGV[1], ARGV[2]
if redis.call('HSETNX', worker_key, 'started_ms', now) == 1 then
  redis.call('HSET', worker_key, 'state', 'active')
end
if #ARGV > 2 then
  redis.call('HSET', worker_key, unpack(ARGV, 3))
end
redis.call('HSET', worker_key, 'last_seen_ms', now)
redis.call('ZADD', seen_key, now, id)
return redis.call('HGETALL', worker_key)
