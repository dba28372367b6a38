-- _lib.lua: helpers prepended to every script by scripts.py; not a transition itself.
-- Keys arrive only as parameters (named *_key), never built here, so scripts stay cluster-safe.

-- Records: codec.py defines the layout, and scripts.py writes task_of/values_of from it.
-- Scripts see a task as a table with codec's field names; only these two functions know the
-- stored bytes. User data (payload, result, metadata, webhook_status) are JSON strings that
-- Lua never decodes, so `[]` stays `[]` and big integers keep their digits.
local function decode_record(raw)
  local task = task_of(cmsgpack.unpack(raw))
  if task.errors then
    for i, e in ipairs(task.errors) do
      task.errors[i] = {attempt = e[1], error = e[2], at_ms = e[3]}
    end
  end
  return task
end

local function encode_record(task)
  local values = values_of(task)
  if task.errors then
    local triples = {}
    for i, e in ipairs(task.errors) do
      triples[i] = {e.attempt, e.error, e.at_ms}
    end
    values[ERRORS_AT] = triples
  end
  local last = RECORD_LENGTH
  while values[last] == nil do
    last = last - 1
  end
  -- An array header, then the values one by one: cmsgpack packs a table with holes as a
  -- map, but packs nil arguments as nil. Fewer than 256 fields: fixarray or array 16.
  local header = last < 16 and string.char(0x90 + last) or string.char(0xdc, 0, last)
  return header .. cmsgpack.pack(unpack(values, 1, last))
end

local function load_task(tasks_key, id)
  local raw = redis.call('HGET', tasks_key, id)
  if not raw then
    return nil
  end
  return decode_record(raw)
end

local function save_task(tasks_key, id, task)
  local raw = encode_record(task)
  redis.call('HSET', tasks_key, id, raw)
  return raw
end

-- A webhook delivery as stored: the msgpack array [task id, event, attempts, record], the
-- record nested as saved, so it is never decoded and encoded again on the way.
local function delivery_value(task_id, event, attempts, raw)
  return '\148' .. cmsgpack.pack(task_id, event, attempts) .. raw
end

-- The creation log (taskline:{q}:log, listing's index): one entry per task, its stream id
-- and value made from the task's UUIDv7 by codec.log_entry, so that log order is id order.
local LOG_LOW = 2^22

-- The task id of a log entry {stream id, {field, value}}: the inverse of codec.log_entry
-- (exact: every part is below 2^53), or the value itself where the task was logged out of
-- id order (submit.lua says when).
local function logged_task_id(entry)
  local value = entry[2][2]
  if #value == 36 then
    return value
  end
  local ms, sequence = string.match(entry[1], '^(%d+)-(%d+)$')
  sequence = tonumber(sequence)
  local high = sequence % 2^40
  local hex = string.format('%012x', tonumber(ms))
  return string.format('%s-%s-7%03x-%04x-%012x', string.sub(hex, 1, 8), string.sub(hex, 9, 12),
    math.floor(sequence / 2^40), 0x8000 + math.floor(high / 2^26), (high % 2^26) * LOG_LOW + tonumber(value))
end

-- The running task `id`, if `token` is its lease's; else nil and the error reply to return.
local function leased_task(tasks_key, id, token)
  local task = load_task(tasks_key, id)
  if not task then
    return nil, redis.error_reply('NOT_FOUND ' .. id)
  end
  if task.state ~= 'running' or task.lease_token ~= token then
    return nil, redis.error_reply('LEASE_LOST')
  end
  return task
end

-- The field of taskline:{q}:counts that a task in its current state is counted under.
local function count_field(task)
  if task.state == 'pending' then
    return 'pending:' .. task.priority
  end
  return task.state
end

-- HINCRBYs of a batch script, summed per key and field and written once each when it ends
-- (flush_tally): a lease of ten tasks of one type moves their counts and observes their
-- waits with a handful of HINCRBYs, not forty. Outside begin_tally each is written at once.
local tallies = nil

local function begin_tally()
  tallies = {}
end

local function incr(hash_key, field, by)
  if not tallies then
    redis.call('HINCRBY', hash_key, field, by)
    return
  end
  local fields = tallies[hash_key]
  if not fields then
    fields = {}
    tallies[hash_key] = fields
  end
  fields[field] = (fields[field] or 0) + by
end

local function flush_tally()
  for hash_key, fields in pairs(tallies) do
    for field, by in pairs(fields) do
      redis.call('HINCRBY', hash_key, field, by)
    end
  end
  tallies = nil
end

local function move_count(counts_key, from_field, to_field)
  if from_field then
    incr(counts_key, from_field, -1)
  end
  if to_field then
    incr(counts_key, to_field, 1)
  end
end

local function is_terminal(state)
  return state == 'completed' or state == 'failed' or state == 'cancelled'
end

-- Order key of a pending task: due time plus its priority's offset (core.priority.order_key
-- is linear in due time, so Python passes the four offsets and no policy lives in Lua).
local function order_score(task, offsets)
  return task.due_ms + offsets[task.priority + 1]
end

-- Reads four order-key offsets (priority 0..3) starting at ARGV[first].
local function read_offsets(first)
  return {tonumber(ARGV[first]), tonumber(ARGV[first + 1]), tonumber(ARGV[first + 2]), tonumber(ARGV[first + 3])}
end

-- Makes a task pending (from any non-pending state) in its type's pending zset.
local function enqueue(counts_key, pending_key, id, task, offsets)
  local from = count_field(task)
  task.state = 'pending'
  redis.call('ZADD', pending_key, order_score(task, offsets), id)
  move_count(counts_key, from, count_field(task))
end

-- Removes a task for good and frees its unique key (only if the key still names it).
-- failed | cancelled -> pending by hand (retry, DLQ retry): attempts kept, max_retries
-- counted afresh from here; the caller has taken the task out of its old index.
local function requeue_by_hand(counts_key, pending_key, id, task, now, offsets)
  task.retry_base = task.attempts
  task.progress = nil
  task.completed_ms = nil
  task.cancel_requested = nil
  task.lease_token = nil
  task.due_ms = now
  task.updated_ms = now
  enqueue(counts_key, pending_key, id, task, offsets)
end

local function delete_task(tasks_key, counts_key, uniques_key, id, task)
  redis.call('HDEL', tasks_key, id)
  move_count(counts_key, count_field(task), nil)
  if task.unique_key and redis.call('HGET', uniques_key, task.unique_key) == id then
    redis.call('HDEL', uniques_key, task.unique_key)
  end
end

-- What every transition tells the world, in the same script as the change itself, so nothing
-- changes state unannounced: an entry on the queue's event stream (SPEC §3 /ws), the
-- cluster-wide counters of /metrics, and on a terminal state with a webhook, the delivery in
-- the outbox (SPEC §6). `ev` holds the keys: tasks, events, metrics, and where a script can
-- end a task, outbox, deliveries and archive. Metric fields: '<counter>|<type>', '<run|wait>|<type>|<bucket>',
-- '<run|wait>_ms|<type>' (the histogram's sum), 'webhook|<outcome>'. COUNTED, DELIVERED_ON
-- and PENDING_WEBHOOK_STATUS come from Python (scripts.constants), as SQLite uses them; so does
-- ARCHIVE (EngineConfig.archive: history is on, every end also goes to the archive stream).


local function observe(metrics_key, timing, task_type, ms)
  local bucket = #BUCKETS_MS + 1
  for i, bound in ipairs(BUCKETS_MS) do
    if ms <= bound then
      bucket = i
      break
    end
  end
  incr(metrics_key, timing .. '|' .. task_type .. '|' .. bucket, 1)
  incr(metrics_key, timing .. '_ms|' .. task_type, math.max(ms, 0))
end

-- Appends an event to a stream, trimmed to about EVENTS_KEPT entries; returns its entry id.
local function emit(events_key, name, now, subject_field, subject_id, body)
  return redis.call('XADD', events_key, 'MAXLEN', '~', EVENTS_KEPT, '*',
    'e', name, 'ts', now, subject_field, subject_id, 'b', body)
end

-- An event's body is the task's record as saved (`raw`) when it is small: no work here, and
-- readers leave out what an event does not show. A big one (a big payload, say) goes without
-- the UNSHOWN fields, so the streams stay small whatever tasks carry.
local function task_event(ev, name, id, raw, now)
  if #raw > SMALL_RECORD_BYTES then
    local shown = decode_record(raw)
    for field in pairs(UNSHOWN) do
      shown[field] = nil
    end
    raw = encode_record(shown)
  end
  return emit(ev.events, name, now, 'i', id, raw)
end

-- A worker's change, with its hash (a flat HGETALL reply) as the body.
local function worker_event(events_key, name, id, now, flat)
  local fields = {}
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
  end
  return emit(events_key, name, now, 'w', id, cjson.encode(fields))
end

-- A schedule's hash (a flat HGETALL reply) as an event body: its fields as a JSON object, the
-- definition as events show it (`summary`: its task without payload, metadata or webhook), so
-- the stream stays small whatever the task carries. A hash written before there was a summary
-- keeps its definition here, and the reader reduces it (redis/events.py).
local function schedule_body(flat)
  local fields = {}
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
  end
  if fields.summary then
    fields.definition = fields.summary
  end
  fields.summary = nil
  fields.timing = nil
  return cjson.encode(fields)
end

-- A schedule's change, with its hash as the body.
local function schedule_event(events_key, name, schedule_name, now, flat)
  return emit(events_key, name, now, 's', schedule_name, schedule_body(flat))
end

-- Counts and logs a change already saved (`raw` is the saved record). `ran`: an attempt ended
-- here, so its run time is observed.
-- PostgreSQL history (while ARCHIVE): the task as it ended (`raw`, its saved record), for the
-- archiver to copy and then XDEL. A stream, not a hash by id: a task retried by hand that ends
-- again adds a second entry, so an archiver deleting what it read never drops an end it did not
-- read. The one place an end is written to the archive stream (announce, settle_delivery).
local function archive_end(archive_key, id, raw)
  if ARCHIVE then
    redis.call('XADD', archive_key, '*', 'i', id, 'r', raw)
  end
end

local function announce(ev, name, id, task, raw, now, ran)
  local event_id = task_event(ev, name, id, raw, now)
  local counter = COUNTED[name]
  if counter then
    incr(ev.metrics, counter .. '|' .. task.type, 1)
  end
  if name == 'task.started' then
    observe(ev.metrics, 'wait', task.type, now - task.due_ms)
  elseif ran then
    observe(ev.metrics, 'run', task.type, now - task.started_ms)
  end
  if DELIVERED_ON[name] and task.webhook then
    -- The delivery's id is its event's: unique, and the same on every retry of it.
    redis.call('ZADD', ev.outbox, now, event_id)
    redis.call('HSET', ev.deliveries, event_id, delivery_value(id, name, 0, raw))
  end
  if DELIVERED_ON[name] then
    archive_end(ev.archive, id, raw)
  end
end

-- Saves a task and announces the change: the one way a script ends a task's transition.
local function record(ev, name, id, task, now, ran)
  if DELIVERED_ON[name] and task.webhook then
    task.webhook_status = PENDING_WEBHOOK_STATUS
  end
  local raw = save_task(ev.tasks, id, task)
  announce(ev, name, id, task, raw, now, ran)
  return raw
end

-- A running attempt ends in failure: cancelled if a cancel was asked for, else retrying
-- (due after delay_ms) when may_retry, else failed (the DLQ). Shared by fail_task and
-- recover_expired so the two can never disagree. Returns the saved record.
local function end_attempt(ev, counts_key, running_key, retrying_key, failed_key, cancelled_key,
                           id, task, now, err, may_retry, delay_ms)
  local errors = task.errors or {}
  errors[#errors + 1] = {attempt = task.attempts, error = err, at_ms = now}
  task.errors = errors
  task.error = err
  task.worker_id = nil
  task.lease_expires_ms = nil
  task.updated_ms = now
  redis.call('ZREM', running_key, id)
  if task.cancel_requested then
    task.state = 'cancelled'
    task.completed_ms = now
    redis.call('ZADD', cancelled_key, now, id)
  elseif may_retry then
    task.state = 'retrying'
    task.due_ms = now + delay_ms
    redis.call('ZADD', retrying_key, task.due_ms, id)
  else
    task.state = 'failed'
    task.completed_ms = now
    redis.call('ZADD', failed_key, now, id)
  end
  move_count(counts_key, 'running', task.state)
  return record(ev, 'task.' .. task.state, id, task, now, true)
end

-- The transitions a worker's reports make, written once: lease.lua runs one of them, settle.lua
-- a batch of outcomes (a batch of one for Backend.complete and Backend.fail) and then a lease.
-- `q` holds the queue's keys by their keys.py names (counts, running, completed, retrying,
-- failed, cancelled, paused).

-- running -> completed if `token` is the running attempt's. Returns the saved record; the same
-- token on the completed task returns its record unchanged. Else nil and the error reply
-- (NOT_FOUND | LEASE_LOST).
local function complete_task(ev, q, id, token, now, result)
  local task = load_task(ev.tasks, id)
  if not task then
    return nil, redis.error_reply('NOT_FOUND ' .. id)
  end
  if task.lease_token ~= token then
    return nil, redis.error_reply('LEASE_LOST')
  end
  if task.state == 'completed' then
    return redis.call('HGET', ev.tasks, id)
  end
  if task.state ~= 'running' then
    return nil, redis.error_reply('LEASE_LOST')
  end
  task.state = 'completed'
  task.completed_ms = now
  task.updated_ms = now
  task.worker_id = nil
  task.lease_expires_ms = nil
  if result ~= '' then
    task.result = result
  end
  redis.call('ZREM', q.running, id)
  redis.call('ZADD', q.completed, now, id)
  move_count(q.counts, 'running', 'completed')
  return record(ev, 'task.completed', id, task, now, true)
end

-- The running attempt fails as end_attempt decides (the caller drew the backoff from its read
-- of the task, when it had made `attempts` attempts). Returns the saved record and the new
-- state, or nil and the error reply (NOT_FOUND | LEASE_LOST | STALE: attempts moved on since
-- the caller read the task; read again and recompute the backoff).
local function fail_task(ev, q, id, token, now, err, attempts, may_retry, delay_ms)
  local task, refused = leased_task(ev.tasks, id, token)
  if refused then
    return nil, refused
  end
  if task.attempts ~= attempts then
    return nil, redis.error_reply('STALE')
  end
  local raw = end_attempt(ev, q.counts, q.running, q.retrying, q.failed, q.cancelled,
    id, task, now, err, may_retry, delay_ms)
  return raw, task.state
end

-- pending -> running for up to #tokens tasks of one queue, best order key first across the
-- pending zsets KEYS[first_pending..] (one per type), none after `ask.bound`/`bound_id` (nil: any), none
-- from a paused queue. `ask`: now, lease_ms, worker, bound, wake (channel), timer_wait_ms.
-- Returns 2 per leased task: id, record.
-- Lease order: by order key, ties by id (submission order), as the SQLite backend orders them.
local function before(score, id, other_score, other_id)
  return score < other_score or (score == other_score and id < other_id)
end

-- A lease's bound ARGV ('<order key> <task id>', '' for none: leasing.py bound_arg) as ask fields.
local function with_bound(ask, arg)
  local score, id = string.match(arg, '^(%S+) (%S+)$')
  ask.bound, ask.bound_id = tonumber(score), id
  return ask
end

local function lease_tasks(ev, q, first_pending, tokens, ask)
  if redis.call('EXISTS', q.paused) == 1 then
    return {}
  end
  local now = ask.now
  local reply = {}
  local soonest = nil
  for _, token in ipairs(tokens) do
    -- The best head among the type zsets: O(types · log n) per task.
    local best_index, best_score, best_id = nil, nil, nil
    for k = first_pending, #KEYS do
      local head = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
      if head[1] and (best_score == nil or before(tonumber(head[2]), head[1], best_score, best_id)) then
        best_index, best_score, best_id = k, tonumber(head[2]), head[1]
      end
    end
    if best_index == nil or (ask.bound and before(ask.bound, ask.bound_id, best_score, best_id)) then
      break
    end
    redis.call('ZREM', KEYS[best_index], best_id)
    local task = load_task(ev.tasks, best_id)
    if task then
      move_count(q.counts, count_field(task), 'running')
      task.state = 'running'
      task.attempts = (task.attempts or 0) + 1
      task.started_ms = now
      task.lease_token = token
      task.lease_expires_ms = math.min(now + ask.lease_ms, now + task.timeout_ms)
      soonest = math.min(soonest or task.lease_expires_ms, task.lease_expires_ms)
      task.worker_id = ask.worker
      task.progress = nil  -- progress belongs to an attempt: a new one starts with none
      task.updated_ms = now
      redis.call('ZADD', q.running, task.lease_expires_ms, best_id)
      reply[#reply + 1] = best_id
      reply[#reply + 1] = record(ev, 'task.started', best_id, task, now, false)
    end
  end
  -- A scheduler looks at least every timer_wait_ms anyway: only a sooner deadline needs a wake-up.
  if soonest and soonest - now < ask.timer_wait_ms then
    redis.call('PUBLISH', ask.wake, '~timer')
  end
  return reply
end

-- ARGV[first ..] as a list.
local function argv_from(first)
  local values = {}
  for i = first, #ARGV do
    values[#values + 1] = ARGV[i]
  end
  return values
end

-- New tasks of one queue: submit.lua stores them at once; a bulk spanning queues stages them
-- (stage_batch.lua) and stores them at its commit (commit_batch.lua), one code for both.
-- `args` holds SUBMIT_WIDTH values per task from `first` (submit.lua's header says which); `q`
-- names the queue's keys: tasks, counts, scheduled, uniques, types, log, events, metrics.
local SUBMIT_WIDTH = 9

-- Pass 1: every unique-key hit, decided before anything is written, so a refusal stores
-- nothing. Returns per task false or {holder id, holder record ('' when this same batch
-- stores the holder)}, and how many tasks the batch creates.
local function unique_hits(q, args, first, now)
  local hits, claimed, creates = {}, {}, 0
  for i = 1, (#args - first + 1) / SUBMIT_WIDTH do
    local b = first + (i - 1) * SUBMIT_WIDTH
    local unique = args[b + 5]
    local hit = false
    if unique ~= '' then
      hit = claimed[unique] or false
      if not hit then
        local existing = redis.call('HGET', q.uniques, unique)
        local task = existing and load_task(q.tasks, existing)
        if task and (not is_terminal(task.state) or now < task.created_ms + task.unique_ttl * 1000) then
          hit = {existing, redis.call('HGET', q.tasks, existing)}
        end
      end
      claimed[unique] = hit or {args[b], ''}
    end
    hits[i] = hit
    if not hit then
      creates = creates + 1
    end
  end
  return hits, creates
end

-- Whether `creates` more tasks would pass max_queue_size: pending, scheduled and retrying
-- tasks count, and so do the tasks of staged batches (counts field `staged`), which their
-- commit stores without asking again.
local function would_overflow(counts_key, creates, max_size)
  if creates == 0 then
    return false
  end
  local c = redis.call('HMGET', counts_key, 'pending:0', 'pending:1', 'pending:2', 'pending:3', 'scheduled',
    'retrying', 'staged')
  local queued = 0
  for _, v in ipairs(c) do
    queued = queued + (tonumber(v) or 0)
  end
  return queued + creates > max_size
end

-- A staged part's reservation given back (commit and abort): its first 4 bytes, as
-- stage_batch.lua kept them. Not `-struct.unpack(...)`: a part of unique hits alone reserves 0,
-- and -0 reads "-0", which HINCRBY refuses as not an integer.
local function give_back_reservation(counts_key, staged)
  local reserved = struct.unpack('>I4', staged)
  if reserved > 0 then
    redis.call('HINCRBY', counts_key, 'staged', -reserved)
  end
end

-- Pass 2: store every task pass 1 did not find a holder for. A task's pending key is
-- KEYS[pending_base + its index] (index 0: it is scheduled). Returns submit.lua's reply.
local function store_new_tasks(q, args, first, hits, now, pending_base, wake_channel, queue)
  local ev = {tasks = q.tasks, events = q.events, metrics = q.metrics}
  local reply, made_pending, made_scheduled = {}, false, false
  begin_tally()
  for i = 1, #hits do
    local b = first + (i - 1) * SUBMIT_WIDTH
    local id, task_type, field, score = args[b], args[b + 1], args[b + 2], args[b + 3]
    local pending_at = tonumber(args[b + 4])
    if hits[i] then
      reply[#reply + 1] = hits[i][1]
      reply[#reply + 1] = hits[i][2]
    else
      redis.call('HSET', q.tasks, id, args[b + 8])
      if args[b + 5] ~= '' then
        redis.call('HSET', q.uniques, args[b + 5], id)
      end
      if pending_at > 0 then
        pending_at = pending_base + pending_at
        redis.call('ZADD', KEYS[pending_at], score, id)
        made_pending = true
      else
        redis.call('ZADD', q.scheduled, score, id)
        made_scheduled = true
      end
      incr(q.counts, field, 1)
      redis.call('SADD', q.types, task_type)
      -- The log entry comes from the task id (creation order); if another process's ids run
      -- behind this stream's last entry, the entry takes the next id after it and holds the
      -- whole task id instead.
      local added = redis.pcall('XADD', q.log, args[b + 6], 'id', args[b + 7])
      if type(added) == 'table' and added.err then
        local last = redis.call('XREVRANGE', q.log, '+', '-', 'COUNT', 1)
        redis.call('XADD', q.log, string.match(last[1][1], '^%d+') .. '-*', 'id', id)
      end
      task_event(ev, 'task.created', id, args[b + 8], now)
      incr(ev.metrics, 'submitted|' .. task_type, 1)
      reply[#reply + 1] = ''
      reply[#reply + 1] = ''
    end
  end
  flush_tally()
  if made_pending then
    redis.call('PUBLISH', wake_channel, queue)
  end
  if made_scheduled then
    redis.call('PUBLISH', wake_channel, '~timer')
  end
  return reply
end
