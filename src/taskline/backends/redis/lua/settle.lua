-- settle.lua: a batch of one queue's outcomes (complete_task and fail_task in _lib.lua), then
-- (when tokens are given) pending -> running for up to that many tasks as lease.lua would.
-- Backend.complete and Backend.fail are a batch of one.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:completed  KEYS[5] taskline:{q}:retrying  KEYS[6] taskline:{q}:failed
-- KEYS[7] taskline:{q}:cancelled  KEYS[8] taskline:{q}:paused  KEYS[9] taskline:{q}:events
-- KEYS[10] taskline:{q}:metrics  KEYS[11] taskline:{q}:outbox  KEYS[12] taskline:{q}:deliveries
-- KEYS[13] taskline:{q}:archive  KEYS[14..] taskline:{q}:pending:<type>, one per type the lease may take
-- ARGV[1] now_ms  ARGV[2] wake channel  ARGV[3] outcomes n  ARGV[4] reply with records (1|0)
-- ARGV[5] lease_ms  ARGV[6] worker id  ARGV[7] ms within which a lease's end must fall to wake
--   the schedulers  ARGV[8] '<order key> <id>' of another queue's head, the first task not to
--   lease ('' any: leasing.py bound_arg)
-- ARGV[9 .. 8+7n] 7 per outcome: 'c' (complete) | 'f' (fail), task id, lease token, encoded result
--   ('' none) | error, and for a fail: attempts the caller planned for, may retry (1|0), retry
--   delay_ms ('' for a complete)
-- ARGV[9+7n ..] one fresh fencing token per task to lease (none: no lease)
-- Returns {states, records, leases}: per outcome the task's new state, or NOT_FOUND |
-- LEASE_LOST | STALE (attempts moved on since the caller read the task: read again and
-- recompute the backoff) for one refused alone; per outcome its record when asked,
-- else (and when refused) ''; 2 per leased task: id, record.
local ev = {tasks = KEYS[1], events = KEYS[9], metrics = KEYS[10], outbox = KEYS[11], deliveries = KEYS[12],
  archive = KEYS[13]}
local q = {counts = KEYS[2], running = KEYS[3], completed = KEYS[4], retrying = KEYS[5], failed = KEYS[6],
  cancelled = KEYS[7], paused = KEYS[8]}
local now, n, with_records = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4] == '1'
local states, records = {}, {}
local retrying = false
begin_tally()
for b = 9, 8 + 7 * n, 7 do
  local raw, state
  if ARGV[b] == 'c' then
    raw, state = complete_task(ev, q, ARGV[b + 1], ARGV[b + 2], now, ARGV[b + 3])
    state = raw and 'completed' or state
  else
    raw, state = fail_task(ev, q, ARGV[b + 1], ARGV[b + 2], now, ARGV[b + 3], tonumber(ARGV[b + 4]),
      ARGV[b + 5] == '1', tonumber(ARGV[b + 6]))
  end
  if not raw then
    -- The error reply's code alone (Redis 7 prefixes 'ERR '; NOT_FOUND is followed by the id,
    -- which the caller has), for this outcome alone.
    state = string.match((string.gsub(state.err, '^ERR ', '')), '^%S+')
  end
  retrying = retrying or state == 'retrying'
  states[#states + 1] = state
  records[#records + 1] = (with_records and raw) or ''
end
if retrying then
  redis.call('PUBLISH', ARGV[2], '~timer')
end
local leases = {}
local tokens = argv_from(9 + 7 * n)
if #tokens > 0 then
  local ask = with_bound({now = now, lease_ms = tonumber(ARGV[5]), worker = ARGV[6], wake = ARGV[2],
    timer_wait_ms = tonumber(ARGV[7])}, ARGV[8])
  leases = lease_tasks(ev, q, 14, tokens, ask)
end
flush_tally()
return {states, records, leases}
