-- abort_batch.lua: drop one queue's staged part of a bulk whose decision is abort (batches.py),
-- giving back the room it reserved, and remember the abort for an hour so a stage of the batch
-- that arrives after it (a command delayed on a hung connection) is refused, not kept forever.
-- KEYS[1] taskline:{q}:counts  KEYS[2] taskline:{q}:staged  KEYS[3] taskline:{q}:aborted
-- ARGV[1] now_ms  ARGV[2] batch id
-- Returns 1 if a part was dropped, 0 if none was staged.
local counts_key, staged_key, aborted_key = KEYS[1], KEYS[2], KEYS[3]
local now, batch = tonumber(ARGV[1]), ARGV[2]
redis.call('ZADD', aborted_key, now, batch)
redis.call('ZREMRANGEBYSCORE', aborted_key, '-inf', now - 3600000)
local staged = redis.call('HGET', staged_key, batch)
if not staged then
  return 0
end
redis.call('HDEL', staged_key, batch)
give_back_reservation(counts_key, staged)
return 1
