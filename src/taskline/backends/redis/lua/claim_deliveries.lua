-- claim_deliveries.lua: take a queue's webhook deliveries due by now, making each due again
-- after the claim (so no other dispatcher takes the same attempt while this one makes it).
-- KEYS[1] taskline:{q}:outbox  KEYS[2] taskline:{q}:deliveries
-- ARGV[1] now_ms  ARGV[2] limit  ARGV[3] claim_ms (how long the claim holds)
-- Returns a flat array {delivery id, delivery (_lib.lua delivery_value), ...}.
local outbox_key, deliveries_key = KEYS[1], KEYS[2]
local now, limit, claim_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', outbox_key, '-inf', now, 'LIMIT', 0, limit)
local claimed = {}
for _, id in ipairs(due) do
  local raw = redis.call('HGET', deliveries_key, id)
  if raw then
    redis.call('ZADD', outbox_key, now + claim_ms, id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = raw
  else
    redis.call('ZREM', outbox_key, id)  -- an orphan index entry: nothing left to deliver
  end
end
return claimed
