-- delete_schedule.lua: delete a schedule (the tasks it submitted stay): schedule.deleted.
-- KEYS[1] taskline:{~schedules}:schedule:<name>  KEYS[2] taskline:{~schedules}:names
-- KEYS[3] taskline:{~schedules}:due  KEYS[4] taskline:{~schedules}:events
-- ARGV[1] name  ARGV[2] now_ms
-- Returns 1 if it was deleted, 0 if there was no such schedule.
local schedule_key = KEYS[1]
local name = ARGV[1]
local flat = redis.call('HGETALL', schedule_key)
if #flat == 0 then
  return 0
end
redis.call('DEL', schedule_key)
redis.call('SREM', KEYS[2], name)
redis.call('ZREM', KEYS[3], name)
schedule_event(KEYS[4], 'schedule.deleted', name, ARGV[2], flat)
return 1
