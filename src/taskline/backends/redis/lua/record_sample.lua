-- record_sample.lua: store the task totals at the start of a minute unless that minute has
-- a sample already (the first writer wins), then drop the minutes no longer kept.
-- KEYS[1] taskline:samples
-- ARGV[1] minute (since the epoch)  ARGV[2] the totals (JSON)  ARGV[3] the oldest minute kept
-- Returns 1 when this call stored the sample, 0 when the minute had one.
local samples_key = KEYS[1]
local stored = redis.call('HSETNX', samples_key, ARGV[1], ARGV[2])
if stored == 1 then
  -- At most KEPT_MINUTES fields plus the few a gap left behind: one HKEYS a minute is cheap.
  local oldest = tonumber(ARGV[3])
  local old = {}
  for _, minute in ipairs(redis.call('HKEYS', samples_key)) do
    if tonumber(minute) < oldest then
      old[#old + 1] = minute
    end
  end
  if #old > 0 then
    redis.call('HDEL', samples_key, unpack(old))
  end
end
return stored
