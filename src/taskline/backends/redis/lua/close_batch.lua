-- close_batch.lua: a bulk spanning queues is resolved in every queue (batches.py): it leaves the
-- open batches and its decision is forgotten.
-- KEYS[1] taskline:{~batches}:open  KEYS[2] taskline:{~batches}:decided
-- ARGV[1] the batch's member of open  ARGV[2] batch id
-- Returns 1 if the batch was open.
redis.call('HDEL', KEYS[2], ARGV[2])
return redis.call('ZREM', KEYS[1], ARGV[1])
