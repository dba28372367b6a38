-- fail.lua: running -> cancelled (cancel asked) | retrying (retries left) | failed (the DLQ).
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:retrying  KEYS[5] taskline:{q}:failed  KEYS[6] taskline:{q}:cancelled
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics
-- KEYS[9] taskline:{q}:outbox  KEYS[10] taskline:{q}:deliveries
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4] error  ARGV[5] attempts the caller
--   planned for  ARGV[6] may retry (1|0)  ARGV[7] retry delay_ms  ARGV[8] wake channel
-- Returns the record. Error reply NOT_FOUND | LEASE_LOST | STALE (attempts moved on since the
-- caller read the task: read again and recompute the backoff).
local ev = {tasks = KEYS[1], events = KEYS[7], metrics = KEYS[8], outbox = KEYS[9], deliveries = KEYS[10]}
local q = {counts = KEYS[2], running = KEYS[3], retrying = KEYS[4], failed = KEYS[5], cancelled = KEYS[6]}
local raw, state = fail_task(ev, q, ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]),
  ARGV[6] == '1', tonumber(ARGV[7]))
if not raw then
  return state
end
if state == 'retrying' then
  redis.call('PUBLISH', ARGV[8], '~timer')
end
return raw
