-- acquire: take a flight's lease, unless an outcome is retained.
--
-- KEYS[1]  the lease key    {<prefix>:<key>}:lease
-- KEYS[2]  the outcome key  {<prefix>:<key>}:out
-- ARGV[1]  the caller's lease token (random, unique per attempt)
-- ARGV[2]  the lease TTL in milliseconds
--
-- Returns the retained outcome frame (a string) when there is one; else 1
-- when the caller now holds the lease; else 0: another caller holds it.
--
-- Atomic because the look and the take must see one state: between a GET
-- that misses and a SET NX, a leader could finish and retain its outcome,
-- and the caller would then run fn again for nothing.
local out = redis.call('GET', KEYS[2])
if out then
  return out
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
