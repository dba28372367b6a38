-- put_schedule.lua: create a schedule, or replace the definition of the one of that name
-- (paused state, created_ms and the last run kept); announced as schedule.created |
-- schedule.updated. The next run: none while paused; the stored one when the timing (cron,
-- every, time zone) is unchanged, so a tick due but not yet fired is still fired (a deploy
-- script may declare its schedules on every run); else the one the caller computed from now.
-- KEYS[1] taskline:{~schedules}:schedule:<name>  KEYS[2] taskline:{~schedules}:names
-- KEYS[3] taskline:{~schedules}:due  KEYS[4] taskline:{~schedules}:events
-- ARGV[1] name  ARGV[2] definition (JSON)  ARGV[3] now_ms  ARGV[4] next_ms ('' for none)
-- ARGV[5] wake channel (the scheduler may sleep past the first tick: TIMER_MESSAGE)
-- ARGV[6] the definition as events show it (JSON, no payload)  ARGV[7] the timing (JSON)
-- Returns {1 if created else 0, the schedule's hash as a flat field, value array}.
local schedule_key = KEYS[1]
local name, now = ARGV[1], ARGV[3]
local created = redis.call('EXISTS', schedule_key) == 0
if created then
  redis.call('HSET', schedule_key, 'paused', '0', 'created_ms', now)
  redis.call('SADD', KEYS[2], name)
end
local before = redis.call('HMGET', schedule_key, 'timing', 'next_ms')
redis.call('HSET', schedule_key, 'definition', ARGV[2], 'summary', ARGV[6], 'timing', ARGV[7], 'updated_ms', now)
local next_ms = ARGV[4]
if before[1] == ARGV[7] and before[2] then
  next_ms = before[2]
end
if redis.call('HGET', schedule_key, 'paused') == '1' or next_ms == '' then
  redis.call('HDEL', schedule_key, 'next_ms')
  redis.call('ZREM', KEYS[3], name)
else
  redis.call('HSET', schedule_key, 'next_ms', next_ms)
  redis.call('ZADD', KEYS[3], next_ms, name)
  redis.call('PUBLISH', ARGV[5], '~timer')
end
local flat = redis.call('HGETALL', schedule_key)
schedule_event(KEYS[4], created and 'schedule.created' or 'schedule.updated', name, now, flat)
return {created and 1 or 0, flat}
