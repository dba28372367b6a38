-- lease.lua: pending -> running for up to N tasks of one queue, best order key first.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:paused  KEYS[5] taskline:{q}:events  KEYS[6] taskline:{q}:metrics
-- KEYS[7..] taskline:{q}:pending:<type>, one per type asked for
-- ARGV[1] now_ms  ARGV[2] lease_ms  ARGV[3] worker id  ARGV[4] '<order key> <id>' of another
--   queue's head, the first task not to take ('' any: leasing.py bound_arg)  ARGV[5] wake channel
-- ARGV[6] ms within which a lease's end must fall to wake the schedulers (their longest wait)
-- ARGV[7..] one fresh fencing token per task wanted (their count is the most leased)
-- Returns 2 per leased task: id, record. Nothing from a paused queue.
local ev = {tasks = KEYS[1], events = KEYS[5], metrics = KEYS[6]}
local q = {counts = KEYS[2], running = KEYS[3], paused = KEYS[4]}
local ask = with_bound({now = tonumber(ARGV[1]), lease_ms = tonumber(ARGV[2]), worker = ARGV[3],
  wake = ARGV[5], timer_wait_ms = tonumber(ARGV[6])}, ARGV[4])
begin_tally()
local reply = lease_tasks(ev, q, 7, argv_from(7), ask)
flush_tally()
return reply
