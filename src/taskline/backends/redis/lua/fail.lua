-- fail.lua: running -> cancelled (cancel asked) | retrying (retries left) | failed (the DLQ).
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:retrying  KEYS[5] taskline:{q}:failed  KEYS[6] taskline:{q}:cancelled
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics
-- KEYS[9] taskline:{q}:outbox  KEYS[10] taskline:{q}:deliveries
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4] error  ARGV[5] attempts the caller
--   planned for  ARGV[6] may retry (1|0)  ARGV[7] retry delay_ms  ARGV[8] wake channel
-- Returns the record. Error reply NOT_FOUND | LEASE_LOST | STALE (attempts moved on since the
-- caller read the task: read again and recompute the backoff).
local tasks_key, counts_key, running_key = KEYS[1], KEYS[2], KEYS[3]
local retrying_key, failed_key, cancelled_key = KEYS[4], KEYS[5], KEYS[6]
local ev = {tasks = KEYS[1], events = KEYS[7], metrics = KEYS[8], outbox = KEYS[9], deliveries = KEYS[10]}
local id, token, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local task, refused = leased_task(tasks_key, id, token)
if refused then
  return refused
end
if task.attempts ~= tonumber(ARGV[5]) then
  return redis.error_reply('STALE')
end
local raw = end_attempt(ev, counts_key, running_key, retrying_key, failed_key, cancelled_key,
  id, task, now, ARGV[4], ARGV[6] == '1', tonumber(ARGV[7]))
if task.state == 'retrying' then
  redis.call('PUBLISH', ARGV[8], '~timer')
end
return raw
