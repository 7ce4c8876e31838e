-- acquire: take a flight's lease, unless an outcome is retained.
--
-- KEYS[1]  the lease key    {<prefix>:<key>}:lease
-- KEYS[2]  the outcome key  {<prefix>:<key>}:out
-- ARGV[1]  the caller's lease token (random, unique per attempt; a refresh's
--          starts with "r")
-- ARGV[2]  the lease TTL in milliseconds
-- ARGV[3]  "" to take any retained outcome; else "s" followed by the start
--          of a retained outcome frame that the caller already read and
--          cannot use (it expired, or it is unreadable): that one is passed
--          over
--
-- Returns the retained outcome frame (a string) when there is one that is
-- not passed over; else 1 when the caller now holds the lease; else 2 when
-- an early refresh holds it; else 0: another caller holds it.
--
-- Atomic because the look and the take must see one state: between a GET
-- that misses and a SET NX, a leader could finish and retain its outcome,
-- and the caller would then run fn again for nothing.
local out = redis.call('GET', KEYS[2])
local skip = string.sub(ARGV[3], 2)
if out and (ARGV[3] == '' or string.sub(out, 1, #skip) ~= skip) then
  return out
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if string.sub(redis.call('GET', KEYS[1]) or '', 1, 1) == 'r' then
  return 2
end
return 0
