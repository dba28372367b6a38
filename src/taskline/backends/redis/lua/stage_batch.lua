-- stage_batch.lua: one queue's part of a bulk spanning queues (batches.py), checked as submit.lua
-- checks a submit and then kept aside: stored under the batch id, invisible to lease, listing and
-- stats, its room in the queue reserved (counts field `staged`) until the batch's decision
-- stores it (commit_batch.lua) or drops it (abort_batch.lua).
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:unique
-- KEYS[4] taskline:{q}:staged  KEYS[5] taskline:{q}:aborted
-- ARGV[1] now_ms  ARGV[2] max_queue_size  ARGV[3] batch id  ARGV[4] the batch's deadline_ms
-- ARGV[5] the part's pending types, in the order of its pending keys, separated by spaces
-- ARGV[6] the part's tasks: a msgpack array of submit.lua's ARGV from ARGV[5] on
-- Returns how many tasks the part reserves room for. Error replies: QUEUE_FULL as submit.lua;
-- ABANDONED when the deadline has passed or the batch was already given up in this queue
-- (an abort that overtook a late stage), so nothing is staged that nobody would resolve.
local tasks_key, counts_key, staged_key, aborted_key = KEYS[1], KEYS[2], KEYS[4], KEYS[5]
local now, batch = tonumber(ARGV[1]), ARGV[3]
if now >= tonumber(ARGV[4]) or redis.call('ZSCORE', aborted_key, batch) then
  return redis.error_reply('ABANDONED')
end
local _, creates = unique_hits({tasks = tasks_key, uniques = KEYS[3]}, cmsgpack.unpack(ARGV[6]), 1, now)
if would_overflow(counts_key, creates, tonumber(ARGV[2])) then
  return redis.error_reply('QUEUE_FULL')
end
redis.call('HINCRBY', counts_key, 'staged', creates)
-- Kept as: the reservation (4 bytes, for the commit or the abort to give back), the types'
-- length (2 bytes), the types, the tasks (batches.py reads the types for the pending keys).
redis.call('HSET', staged_key, batch, struct.pack('>I4', creates) .. struct.pack('>I2', #ARGV[5]) .. ARGV[5] .. ARGV[6])
return creates
