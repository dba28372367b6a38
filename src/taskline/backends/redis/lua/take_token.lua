-- take_token.lua: spend one token of a client's rate-limit bucket (refilled at rate/s, holding burst).
-- KEYS[1] taskline:ratelimit:{<client digest>}
-- ARGV[1] now_ms  ARGV[2] rate (tokens per second, > 0)  ARGV[3] burst
-- Returns '0' when allowed, else the seconds until a token will be there (as a decimal string).
local bucket_key = KEYS[1]
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', bucket_key, 'tokens', 'at_ms')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', bucket_key, 'tokens', tostring(tokens), 'at_ms', now)
-- A bucket left alone refills completely, so it can be forgotten then.
redis.call('PEXPIRE', bucket_key, math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
