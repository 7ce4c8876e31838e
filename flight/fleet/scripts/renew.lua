-- renew: extend a lease, only for its holder (compare and PEXPIRE).
--
-- KEYS[1]  the lease key  {<prefix>:<key>}:lease
-- ARGV[1]  the leader's lease token
-- ARGV[2]  the lease TTL in milliseconds
--
-- Returns 1 when the lease was extended, 0 when the caller no longer holds
-- it (it ran out, and perhaps another process holds it now).
--
-- Atomic because a GET then PEXPIRE from the client could extend a lease
-- that changed hands in between: the new holder's, which would then
-- outlive a crash of the new holder by the old one's renewals.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
