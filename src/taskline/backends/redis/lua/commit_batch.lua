-- commit_batch.lua: store one queue's staged part of a bulk whose decision is commit (batches.py),
-- as submit.lua stores a submit (unique keys are looked at again: a task stored meanwhile may
-- hold one now), without asking max_queue_size again: the stage reserved the room.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:scheduled
-- KEYS[4] taskline:{q}:unique  KEYS[5] taskline:{q}:types  KEYS[6] taskline:{q}:log
-- KEYS[7] taskline:{q}:events  KEYS[8] taskline:{q}:metrics  KEYS[9] taskline:{q}:staged
-- KEYS[10..] taskline:{q}:pending:<type>, the part's pending types in the order stage_batch.lua kept
-- ARGV[1] now_ms  ARGV[2] wake channel  ARGV[3] queue name  ARGV[4] batch id
-- Returns submit.lua's reply for the part's tasks, or nil when nothing is staged: the part was
-- committed already (the scheduler and the submitting process may both try) or never staged.
local q = {tasks = KEYS[1], counts = KEYS[2], scheduled = KEYS[3], uniques = KEYS[4], types = KEYS[5], log = KEYS[6],
  events = KEYS[7], metrics = KEYS[8]}
local staged_key = KEYS[9]
local batch = ARGV[4]
local staged = redis.call('HGET', staged_key, batch)
if not staged then
  return false
end
redis.call('HDEL', staged_key, batch)
give_back_reservation(q.counts, staged)
local tasks = cmsgpack.unpack(string.sub(staged, 7 + struct.unpack('>I2', staged, 5)))
local now = tonumber(ARGV[1])
local hits = unique_hits(q, tasks, 1, now)
-- The part's pending key indexes are submit.lua's (pending keys from KEYS[9]); here they start at KEYS[10].
return store_new_tasks(q, tasks, 1, hits, now, 1, ARGV[2], ARGV[3])
