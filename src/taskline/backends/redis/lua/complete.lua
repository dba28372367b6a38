-- complete.lua: running -> completed if the lease token is the running attempt's.
-- KEYS[1] taskline:{q}:tasks  KEYS[2] taskline:{q}:counts  KEYS[3] taskline:{q}:running
-- KEYS[4] taskline:{q}:completed  KEYS[5] taskline:{q}:events  KEYS[6] taskline:{q}:metrics
-- KEYS[7] taskline:{q}:outbox  KEYS[8] taskline:{q}:deliveries
-- ARGV[1] task id  ARGV[2] lease token  ARGV[3] now_ms  ARGV[4] encoded result ('' none)
-- Returns the record; the same token on the completed task returns it unchanged.
-- Error reply NOT_FOUND | LEASE_LOST.
local ev = {tasks = KEYS[1], events = KEYS[5], metrics = KEYS[6], outbox = KEYS[7], deliveries = KEYS[8]}
local q = {counts = KEYS[2], running = KEYS[3], completed = KEYS[4]}
local raw, refused = complete_task(ev, q, ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])
return raw or refused
