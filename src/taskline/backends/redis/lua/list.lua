-- list.lua: read-only; tasks of one queue newest first from the creation log, filtered here so
-- only matches cross the wire. Scans a bounded number of entries per call.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:log
-- ARGV[1] start: '+' or '(' .. log id to continue after  ARGV[2] most matches to return
-- ARGV[3] most log entries to scan  ARGV[4] state ('' any)  ARGV[5] type ('' any)
-- Returns {last scanned log id ('' if the log ran out), then 3 per match: log id, task id, record}.
local tasks_key, log_key = KEYS[1], KEYS[2]
local want, scan = tonumber(ARGV[2]), tonumber(ARGV[3])
local state, task_type = ARGV[4], ARGV[5]
local entries = redis.call('XREVRANGE', log_key, ARGV[1], '-', 'COUNT', scan)
local reply = {''}
local matches = 0
for _, entry in ipairs(entries) do
  local id = logged_task_id(entry)
  local raw = redis.call('HGET', tasks_key, id)
  if raw then
    local task = (state ~= '' or task_type ~= '') and decode_record(raw) or nil
    if not task or ((state == '' or task.state == state) and (task_type == '' or task.type == task_type)) then
      reply[#reply + 1] = entry[1]
      reply[#reply + 1] = id
      reply[#reply + 1] = raw
      matches = matches + 1
    end
  end
  reply[1] = entry[1]
  if matches >= want then
    return reply
  end
end
if #entries < scan then
  reply[1] = ''
end
return reply
