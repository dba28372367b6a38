-- put_schedule.lua: create a schedule, or replace the definition of the one of that name
-- (paused state, created_ms and the last run kept; the next run as computed from now, unless
-- paused); announced as schedule.created | schedule.updated.
-- KEYS[1] taskline:{~schedules}:schedule:<name>  KEYS[2] taskline:{~schedules}:names
-- KEYS[3] taskline:{~schedules}:due  KEYS[4] taskline:{~schedules}:events
-- ARGV[1] name  ARGV[2] definition (JSON)  ARGV[3] now_ms  ARGV[4] next_ms ('' for none)
-- ARGV[5] wake channel (the scheduler may sleep past the first tick: TIMER_MESSAGE)
-- Returns {1 if created else 0, the schedule's hash as a flat field, value array}.
local schedule_key = KEYS[1]
local name, now = ARGV[1], ARGV[3]
local created = redis.call('EXISTS', schedule_key) == 0
if created then
  redis.call('HSET', schedule_key, 'paused', '0', 'created_ms', now)
  redis.call('SADD', KEYS[2], name)
end
redis.call('HSET', schedule_key, 'definition', ARGV[2], 'updated_ms', now)
if redis.call('HGET', schedule_key, 'paused') == '1' or ARGV[4] == '' then
  redis.call('HDEL', schedule_key, 'next_ms')
  redis.call('ZREM', KEYS[3], name)
else
  redis.call('HSET', schedule_key, 'next_ms', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[4], name)
  redis.call('PUBLISH', ARGV[5], '~timer')
end
local flat = redis.call('HGETALL', schedule_key)
schedule_event(KEYS[4], created and 'schedule.created' or 'schedule.updated', name, now, flat)
return {created and 1 or 0, flat}
