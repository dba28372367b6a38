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
-- Error reply QUEUE_FULL (nothing stored) when pending + scheduled + retrying + staged (tasks of
-- bulks spanning queues, stage_batch.lua) would pass the limit.
local q = {tasks = KEYS[1], counts = KEYS[2], scheduled = KEYS[3], uniques = KEYS[4], types = KEYS[5], log = KEYS[6],
  events = KEYS[7], metrics = KEYS[8]}
local now = tonumber(ARGV[1])
local hits, creates = unique_hits(q, ARGV, 5, now)
if would_overflow(q.counts, creates, tonumber(ARGV[2])) then
  return redis.error_reply('QUEUE_FULL')
end
return store_new_tasks(q, ARGV, 5, hits, now, 0, ARGV[3], ARGV[4])
