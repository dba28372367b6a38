-- submit.lua: new tasks of one queue, all or nothing -> pending, or -> scheduled when due later.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:scheduled
-- KEYS[4] taskline:{q}:unique  KEYS[5] taskline:{q}:types  KEYS[6] taskline:{q}:log
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics
-- KEYS[9..] taskline:{q}:pending:<type>, one per type the batch makes pending
-- ARGV[1] now_ms  ARGV[2] max_queue_size  ARGV[3] wake channel  ARGV[4] queue name
-- ARGV[5..] 9 per task: id, type, counts field ('pending:<p>' or 'scheduled'), score (order key
--   or due_ms), pending key index into KEYS (0 when scheduled), unique key ('' none), log
--   stream id and log value (codec.log_entry), record
-- Returns 2 per task: '' '' when stored; else the id of the task its unique key names and that
-- task's record ('' when that task is stored by this same batch).
-- Error reply QUEUE_FULL (nothing stored) when pending + scheduled + retrying would pass the limit.
local tasks_key, counts_key, scheduled_key = KEYS[1], KEYS[2], KEYS[3]
local uniques_key, types_key, log_key = KEYS[4], KEYS[5], KEYS[6]
local ev = {tasks = tasks_key, events = KEYS[7], metrics = KEYS[8]}
local now, max_size = tonumber(ARGV[1]), tonumber(ARGV[2])
local FIRST, WIDTH = 5, 9
local n = (#ARGV - FIRST + 1) / WIDTH

-- Pass 1 decides every unique-key hit before anything is written, so a refusal stores nothing.
local hits, claimed, creates = {}, {}, 0
for i = 1, n do
  local b = FIRST + (i - 1) * WIDTH
  local unique = ARGV[b + 5]
  local hit = false
  if unique ~= '' then
    hit = claimed[unique] or false
    if not hit then
      local existing = redis.call('HGET', uniques_key, unique)
      local task = existing and load_task(tasks_key, existing)
      if task and (not is_terminal(task.state) or now < task.created_ms + task.unique_ttl * 1000) then
        hit = {existing, redis.call('HGET', tasks_key, existing)}
      end
    end
    claimed[unique] = hit or {ARGV[b], ''}
  end
  hits[i] = hit
  if not hit then
    creates = creates + 1
  end
end

if creates > 0 then
  local c = redis.call('HMGET', counts_key, 'pending:0', 'pending:1', 'pending:2', 'pending:3', 'scheduled', 'retrying')
  local queued = 0
  for _, v in ipairs(c) do
    queued = queued + (tonumber(v) or 0)
  end
  if queued + creates > max_size then
    return redis.error_reply('QUEUE_FULL')
  end
end

local reply, made_pending, made_scheduled = {}, false, false
begin_tally()
for i = 1, n do
  local b = FIRST + (i - 1) * WIDTH
  local id, task_type, field, score, pending_index = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], tonumber(ARGV[b + 4])
  if hits[i] then
    reply[#reply + 1] = hits[i][1]
    reply[#reply + 1] = hits[i][2]
  else
    redis.call('HSET', tasks_key, id, ARGV[b + 8])
    if ARGV[b + 5] ~= '' then
      redis.call('HSET', uniques_key, ARGV[b + 5], id)
    end
    if pending_index > 0 then
      redis.call('ZADD', KEYS[pending_index], score, id)
      made_pending = true
    else
      redis.call('ZADD', scheduled_key, score, id)
      made_scheduled = true
    end
    incr(counts_key, field, 1)
    redis.call('SADD', types_key, task_type)
    -- The log entry comes from the task id (creation order); if another process's ids run
    -- behind this stream's last entry, the entry takes the next id after it and holds the
    -- whole task id instead.
    local added = redis.pcall('XADD', log_key, ARGV[b + 6], 'id', ARGV[b + 7])
    if type(added) == 'table' and added.err then
      local last = redis.call('XREVRANGE', log_key, '+', '-', 'COUNT', 1)
      redis.call('XADD', log_key, string.match(last[1][1], '^%d+') .. '-*', 'id', id)
    end
    task_event(ev, 'task.created', id, ARGV[b + 8], now)
    incr(ev.metrics, 'submitted|' .. task_type, 1)
    reply[#reply + 1] = ''
    reply[#reply + 1] = ''
  end
end
flush_tally()
if made_pending then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
end
if made_scheduled then
  redis.call('PUBLISH', ARGV[3], '~timer')
end
return reply
