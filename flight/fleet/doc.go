// Package fleet suppresses duplicate work across a fleet of processes: when
// callers in many processes ask for the same key at once, fn runs once in
// the whole fleet and every caller shares its outcome. It coordinates
// through the Redis the processes already share (one server, Sentinel or
// Cluster, through go-redis), with a flight.Group in front inside each
// process.
//
// flight.Group coalesces inside one process. A service runs as a fleet: 20
// replicas that each coalesce locally still send 20 identical queries to
// the database when a hot key expires. A fleet Group sends one:
//
//	users := fleet.New[User](rdb, fleet.WithPrefix("users"))
//	defer users.Close()
//
//	u, err, shared := users.Do(ctx, id, func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, id) // once in the fleet for concurrent callers of id
//	})
//
// # How
//
// The first process to ask takes a lease in Redis (SET NX PX with a random
// token), runs fn, renews the lease every TTL/3 while fn runs, and finishes
// with one script that checks its token, frees the lease and publishes the
// outcome. The other processes subscribe to the flight's channel before
// they look at the lease a second time, so the outcome reaches them by
// push, within a round trip of the finish, and none is lost. A leader
// costs two round trips beyond fn. docs/fleet.md in the repository has the
// protocol step by step, the failure table and the Redis names.
//
// # Behaviour
//
//	situation                       callers in the leader's process  callers in other processes
//	------------------------------  -------------------------------  --------------------------------
//	fn returns v, nil               v, nil                           v through the codec
//	fn returns an error             the error                        *RemoteError (Is: WithErrors)
//	fn panics                       panic with *flight.PanicError    take over at once (fn runs there)
//	fn calls runtime.Goexit         as flight.Group.DoCtx            take over at once
//	fn returns a context error      the error                        take over at once
//	a caller's ctx ends             that caller: ctx.Err()           -
//	every local caller left         fn's ctx cancelled (ErrAbandoned), lease released: take over at once
//	leader crashes or stalls        -                                take over within TTL + TTL/3
//	stalled leader finishes late    its own outcome (Fenced)         the new leader's outcome
//	outcome too large or unreadable v (counted)                      run fn themselves (counted)
//	Redis down, slow or erroring    fn runs, coalesced per process (counted); or ErrUnavailable
//	nil ctx or nil fn               panics at once: "fleet: nil fn"
//
// With a retention window ([WithForget]) the outcome is also kept in Redis:
//
//	situation                        every caller, in any process
//	-------------------------------  ------------------------------------------------------
//	within the window                the retained outcome, one round trip, fn not called
//	near the window's end            the same; one call may start a background refresh
//	                                 (XFetch, WithEarlyRefresh): one in the fleet at most
//	a refresh fails                  the retained value, until the window ends
//	after the window                 fn runs again, coalesced as above
//	  ... and fn fails               the expired value, marked stale (WithStaleIfError)
//	  ... while a refresh still runs the expired value, marked stale, without waiting
//	retained frame unreadable        a miss (counted): fn runs and replaces it
//
// shared is true for every caller when more than one caller, in any
// process, received the outcome. [Group.DoResult] also returns its age and
// whether it is stale, for HTTP's Age and Warning headers. Stats counts
// leads, follows, takeovers, fallbacks, Redis errors, bad payloads, hits,
// refreshes and stale answers.
//
// Every Redis operation is bounded by [WithOpTimeout]. After a failure the
// group works on its own for [WithRetryAfter] and then tries Redis again,
// so a Redis outage costs callers at most one op timeout, and coordination
// comes back by itself. A group uses one pub/sub connection while
// followers wait (one per master node in Cluster mode) and closes it once
// idle; [Group.Close] releases it.
//
// # Requirements
//
// Redis 7 or later for Cluster mode (sharded pub/sub); any Redis with Lua
// scripts otherwise. The commands a group sends are EVALSHA (EVAL when the
// server lacks a script), GET (with WithForget), SUBSCRIBE, UNSUBSCRIBE and
// PING on its pub/sub connection (SSUBSCRIBE and SUNSUBSCRIBE in Cluster
// mode), and within its scripts GET, SET, PEXPIRE, DEL and PUBLISH
// (SPUBLISH): never KEYS or SCAN. Build the client with
// ContextTimeoutEnabled so that go-redis stops at each operation's
// deadline; the group enforces the bound either way.
//
// # When not to use it
//
// When one process serves all the traffic, flight.Group does the same
// without Redis. When fn must never run twice at once, even across a
// takeover (a leader that stalls past its lease while still running), a
// lease alone cannot promise it: make fn idempotent, or fence its writes
// with a token of your own. Values cross processes through a codec, so
// they must survive encoding: JSON by default ([WithCodec] for others).
// And without [WithForget], fleet is not a cache: the outcome is shared
// with the callers waiting at the moment, then forgotten. With it, the
// outcome in Redis is the cache entry, refreshed before it expires, and
// each call costs a round trip to Redis: a value that changes rarely and
// is read constantly may be better kept in memory too.
package fleet
