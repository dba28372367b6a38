-- open_batch.lua: a bulk spanning queues enters the open batches (batches.py) before any part is
-- staged, so whatever a crash leaves behind can be found. A script, not a plain ZADD, so that it
-- waits for its replicas as every other step of the batch does (ScriptRunner.run's `replicas`).
-- KEYS[1] taskline:{~batches}:open
-- ARGV[1] the batch's member of open ("<batch id> <queues...>")  ARGV[2] its deadline_ms
-- Returns 1.
return redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
