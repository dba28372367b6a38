-- set_worker_paused.lua: pause or resume a known worker (an unknown one is not created).
-- KEYS[1] taskline:{~workers}:worker:<id>
-- ARGV[1] the new state: 'active' | 'paused'
-- Returns the worker's hash as a flat field, value array; empty if there is no such worker.
local worker_key = KEYS[1]
if redis.call('EXISTS', worker_key) == 0 then
  return {}
end
redis.call('HSET', worker_key, 'state', ARGV[1])
return redis.call('HGETALL', worker_key)
