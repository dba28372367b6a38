-- recover_expired.lua: running tasks whose lease ran out -> a failed attempt, ending as fail
-- would: cancelled (cancel asked) | retrying (retries left) | failed.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:retrying  KEYS[5] taskline:{q}:failed  KEYS[6] taskline:{q}:cancelled
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics
-- KEYS[9] taskline:{q}:outbox  KEYS[10] taskline:{q}:deliveries  KEYS[11] taskline:{q}:archive
-- ARGV[1] now_ms  ARGV[2] wake channel
-- ARGV[3..] 5 per task, as the caller read it: id, attempts, error ('timeout' | 'lease expired'),
--   may retry (1|0), retry delay_ms
-- Returns how many were recovered. A task whose attempt or lease changed since it was read is
-- skipped (it is no longer the expired attempt the caller decided about).
local tasks_key, counts_key, running_key = KEYS[1], KEYS[2], KEYS[3]
local retrying_key, failed_key, cancelled_key = KEYS[4], KEYS[5], KEYS[6]
local ev = {tasks = KEYS[1], events = KEYS[7], metrics = KEYS[8], outbox = KEYS[9], deliveries = KEYS[10],
  archive = KEYS[11]}
local now = tonumber(ARGV[1])
local recovered, retrying = 0, false
begin_tally()
for b = 3, #ARGV, 5 do
  local id = ARGV[b]
  local task = load_task(tasks_key, id)
  if task and task.state == 'running' and task.attempts == tonumber(ARGV[b + 1])
      and task.lease_expires_ms <= now then
    end_attempt(ev, counts_key, running_key, retrying_key, failed_key, cancelled_key,
      id, task, now, ARGV[b + 2], ARGV[b + 3] == '1', tonumber(ARGV[b + 4]))
    recovered = recovered + 1
    retrying = retrying or task.state == 'retrying'
  end
end
flush_tally()
if retrying then
  redis.call('PUBLISH', ARGV[2], '~timer')
end
return recovered
