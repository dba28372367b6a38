-- register_worker.lua: a sighting of a worker: created (active, started now) on first sight,
-- the reported fields overwritten, the others kept, last seen now. A new worker, or one that
-- had left (unseen too long) and is back, joins: worker.joined. After a worker said it left
-- (forget_workers), its hash holds only `said_left_ms`: a sighting from a request that began
-- before then (a poll or heartbeat in flight as it shut down) is dropped, not a ghost's return;
-- one that began later is a worker of that id starting again, afresh.
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:worker:<id>
-- KEYS[3] taskline:{~workers}:events
-- ARGV[1] worker id  ARGV[2] now_ms  ARGV[3] since_ms: when the request that saw it began
-- ARGV[4..] field, value pairs reported by the worker
-- Returns the worker's hash as a flat field, value array; empty for a stale sighting.
local seen_key, worker_key = KEYS[1], KEYS[2]
local id, now, since = ARGV[1], ARGV[2], tonumber(ARGV[3])
local said_left = tonumber(redis.call('HGET', worker_key, 'said_left_ms'))
if said_left then
  if since < said_left then
    return {}
  end
  redis.call('DEL', worker_key)
end
local joined = false
if redis.call('HSETNX', worker_key, 'started_ms', now) == 1 then
  redis.call('HSET', worker_key, 'state', 'active')
  joined = true
elseif redis.call('HDEL', worker_key, 'left') == 1 then
  joined = true
end
if #ARGV > 3 then
  redis.call('HSET', worker_key, unpack(ARGV, 4))
end
redis.call('HSET', worker_key, 'last_seen_ms', now)
redis.call('ZADD', seen_key, now, id)
local flat = redis.call('HGETALL', worker_key)
if joined then
  worker_event(KEYS[3], 'worker.joined', id, tonumber(now), flat)
end
return flat
