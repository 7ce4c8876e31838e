-- finish: end a flight: publish its outcome (or release notice) and free
-- the lease, only for the lease holder (fencing).
--
-- KEYS[1]  the lease key    {<prefix>:<key>}:lease
-- KEYS[2]  the outcome key  {<prefix>:<key>}:out
-- ARGV[1]  the leader's lease token
-- ARGV[2]  the channel      {<prefix>:<key>}:done
-- ARGV[3]  the outcome frame to publish (and to store when ARGV[5] > 0)
-- ARGV[4]  the publish command: PUBLISH, or SPUBLISH in Cluster mode
-- ARGV[5]  how long to retain the frame, in milliseconds; 0 stores nothing
--
-- Returns -1 when the caller no longer holds the lease: nothing is written
-- or published. Otherwise the number of subscribers that received the frame.
--
-- Atomic because the fence, the store, the release and the publish must be
-- one step: a leader whose lease ran out between a check and a PUBLISH would
-- publish over the outcome of the leader that took over, and a follower
-- that checks between the release and the publish would start a new flight
-- without ever seeing this one's outcome.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local keep = tonumber(ARGV[5])
if keep and keep > 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', keep)
end
redis.call('DEL', KEYS[1])
return redis.call(ARGV[4], ARGV[2], ARGV[3])
