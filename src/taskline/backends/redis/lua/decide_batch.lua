-- decide_batch.lua: the one atomic decision of a bulk spanning queues (batches.py): the first
-- decision asked for is kept and answered to everyone after. The submitting process asks for
-- commit once every part is staged; the scheduler asks for abort once the deadline passed.
-- KEYS[1] taskline:{~batches}:open  KEYS[2] taskline:{~batches}:decided
-- ARGV[1] the batch's member of open  ARGV[2] batch id  ARGV[3] 'commit' or 'abort'
-- Returns the decision. A commit asked for a batch no longer open (given up and closed while
-- its submitter was stalled) is 'abort': its parts may be dropped already.
local open_key, decided_key = KEYS[1], KEYS[2]
local entry, batch, wanted = ARGV[1], ARGV[2], ARGV[3]
local decided = redis.call('HGET', decided_key, batch)
if decided then
  return decided
end
if wanted == 'commit' and not redis.call('ZSCORE', open_key, entry) then
  return 'abort'
end
redis.call('HSET', decided_key, batch, wanted)
return wanted
