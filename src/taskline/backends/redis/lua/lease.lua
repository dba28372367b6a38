-- lease.lua: pending -> running for up to N tasks of one queue, best order key first.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:paused  KEYS[5] taskline:{q}:events  KEYS[6] taskline:{q}:metrics
-- KEYS[7..] taskline:{q}:pending:<type>, one per type asked for
-- ARGV[1] now_ms  ARGV[2] lease_ms  ARGV[3] worker id  ARGV[4] highest order key to take ('' any:
--   another queue's head is better from there on)  ARGV[5] wake channel
-- ARGV[6] ms within which a lease's end must fall to wake the schedulers (their longest wait)
-- ARGV[7..] one fresh fencing token per task wanted (their count is the most leased)
-- Returns 2 per leased task: id, record. Nothing from a paused queue.
local tasks_key, counts_key, running_key, paused_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ev = {tasks = tasks_key, events = KEYS[5], metrics = KEYS[6]}
if redis.call('EXISTS', paused_key) == 1 then
  return {}
end
local now, lease_ms, worker = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local bound = tonumber(ARGV[4])
local reply = {}
local soonest = nil
begin_tally()
for t = 7, #ARGV do
  -- The best head among the type zsets: O(types · log n) per task.
  local best_index, best_score, best_id = nil, nil, nil
  for k = 7, #KEYS do
    local head = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
    if head[1] and (best_score == nil or tonumber(head[2]) < best_score) then
      best_index, best_score, best_id = k, tonumber(head[2]), head[1]
    end
  end
  if best_index == nil or (bound and best_score > bound) then
    break
  end
  redis.call('ZREM', KEYS[best_index], best_id)
  local task = load_task(tasks_key, best_id)
  if task then
    move_count(counts_key, count_field(task), 'running')
    task.state = 'running'
    task.attempts = (task.attempts or 0) + 1
    task.started_ms = now
    task.lease_token = ARGV[t]
    task.lease_expires_ms = math.min(now + lease_ms, now + task.timeout_ms)
    soonest = math.min(soonest or task.lease_expires_ms, task.lease_expires_ms)
    task.worker_id = worker
    task.updated_ms = now
    redis.call('ZADD', running_key, task.lease_expires_ms, best_id)
    reply[#reply + 1] = best_id
    reply[#reply + 1] = record(ev, 'task.started', best_id, task, now, false)
  end
end
flush_tally()
-- A scheduler looks at least every ARGV[6] ms anyway: only a sooner deadline needs a wake-up.
if soonest and soonest - now < tonumber(ARGV[6]) then
  redis.call('PUBLISH', ARGV[5], '~timer')
end
return reply
