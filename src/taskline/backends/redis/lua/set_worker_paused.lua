-- set_worker_paused.lua: pause or resume a known worker (an unknown one, or one that said it
-- left, is not created);
-- a change of state is announced: worker.paused | worker.resumed.
-- KEYS[1] taskline:{~workers}:worker:<id>  KEYS[2] taskline:{~workers}:events
-- ARGV[1] the new state: 'active' | 'paused'  ARGV[2] worker id  ARGV[3] now_ms
-- Returns the worker's hash as a flat field, value array; empty if there is no such worker.
local worker_key = KEYS[1]
if redis.call('HEXISTS', worker_key, 'started_ms') == 0 then  -- none, or one that said it left
  return {}
end
local before = redis.call('HGET', worker_key, 'state')
redis.call('HSET', worker_key, 'state', ARGV[1])
local flat = redis.call('HGETALL', worker_key)
if before ~= ARGV[1] then
  local name = ARGV[1] == 'paused' and 'worker.paused' or 'worker.resumed'
  worker_event(KEYS[2], name, ARGV[2], tonumber(ARGV[3]), flat)
end
return flat
