-- advance_schedule.lua: a compare-and-set after a tick was submitted: if the schedule's next
-- run is still the tick the caller fired (and it is not paused), move it on and record the run;
-- with a task, announce schedule.fired carrying it. Another scheduler that advanced it first,
-- or a pause, replace or delete meanwhile, leaves it as it is.
-- KEYS[1] taskline:{~schedules}:schedule:<name>  KEYS[2] taskline:{~schedules}:due
-- KEYS[3] taskline:{~schedules}:events
-- ARGV[1] name  ARGV[2] due_ms (the next run the caller read)  ARGV[3] next_ms ('' for none)
-- ARGV[4] ran_ms (the tick)  ARGV[5] now_ms  ARGV[6] task id ('' when no task was submitted)
-- ARGV[7] the task's queue  ARGV[8] the task's record (codec.encode_task)
-- Returns 1 if advanced, else 0.
local schedule_key = KEYS[1]
local name = ARGV[1]
local state = redis.call('HMGET', schedule_key, 'next_ms', 'paused')
if state[1] ~= ARGV[2] or state[2] ~= '0' then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', schedule_key, 'next_ms')
  redis.call('ZREM', KEYS[2], name)
else
  redis.call('HSET', schedule_key, 'next_ms', ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[3], name)
end
redis.call('HSET', schedule_key, 'last_ms', ARGV[4])
if ARGV[6] ~= '' then
  redis.call('HSET', schedule_key, 'last_task', ARGV[6])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', EVENTS_KEPT, '*', 'e', 'schedule.fired', 'ts', ARGV[5],
    's', name, 'b', schedule_body(redis.call('HGETALL', schedule_key)), 'q', ARGV[7], 'i', ARGV[6], 't', ARGV[8])
end
return 1
