-- depart_workers.lua: workers unseen since a time have left (SPEC §3: unseen for 60 s):
-- each is marked and announced once, worker.left; its record stays (with its pause) until
-- forget_workers deletes it, and a sighting brings it back (worker.joined).
-- KEYS[1] taskline:{~workers}:seen  KEYS[2] taskline:{~workers}:events
-- KEYS[3..] taskline:{~workers}:worker:<id>, one per worker
-- ARGV[1] last seen before this ms  ARGV[2] now_ms  ARGV[3..] the worker ids, in the order of KEYS[3..]
-- Returns how many left now.
local seen_key, events_key = KEYS[1], KEYS[2]
local before, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local departed = 0
for i = 3, #KEYS do
  local last_seen = tonumber(redis.call('ZSCORE', seen_key, ARGV[i]))
  if last_seen and last_seen < before and redis.call('HSETNX', KEYS[i], 'left', now) == 1 then
    worker_event(events_key, 'worker.left', ARGV[i], now, redis.call('HGETALL', KEYS[i]))
    departed = departed + 1
  end
end
return departed
