-- set_schedule_paused.lua: pause a schedule (no next run), or resume it with the next run the
-- caller computed from now, if its definition is still the one read (updated_ms unchanged);
-- a change of state is announced: schedule.paused | schedule.resumed.
-- KEYS[1] taskline:{~schedules}:schedule:<name>  KEYS[2] taskline:{~schedules}:due
-- KEYS[3] taskline:{~schedules}:events
-- ARGV[1] name  ARGV[2] '1' pause | '0' resume  ARGV[3] now_ms
-- ARGV[4] next_ms ('' when pausing, or when the schedule never fires again)
-- ARGV[5] the updated_ms the next run was computed from ('' when pausing)  ARGV[6] wake channel
-- Returns {status, the hash as a flat field, value array}: status 1 changed, 0 already in that
-- state, -1 the definition changed since it was read (read again and retry); {} if no such schedule.
local schedule_key = KEYS[1]
local name, paused, now = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', schedule_key) == 0 then
  return {}
end
if redis.call('HGET', schedule_key, 'paused') == paused then
  return {0, redis.call('HGETALL', schedule_key)}
end
if paused == '0' and redis.call('HGET', schedule_key, 'updated_ms') ~= ARGV[5] then
  return {-1, redis.call('HGETALL', schedule_key)}
end
redis.call('HSET', schedule_key, 'paused', paused, 'updated_ms', now)
if paused == '1' or ARGV[4] == '' then
  redis.call('HDEL', schedule_key, 'next_ms')
  redis.call('ZREM', KEYS[2], name)
else
  redis.call('HSET', schedule_key, 'next_ms', ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[4], name)
  redis.call('PUBLISH', ARGV[6], '~timer')
end
local flat = redis.call('HGETALL', schedule_key)
schedule_event(KEYS[3], paused == '1' and 'schedule.paused' or 'schedule.resumed', name, now, flat)
return {1, flat}
