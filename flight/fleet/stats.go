package fleet

import "sync/atomic"

// Stats is a snapshot of a [Group]'s counters in this process, as returned
// by [Group.Stats]. The counts only grow.
type Stats struct {
	// Leads counts the runs of fn under the lease (takeovers included).
	Leads uint64
	// Follows counts the calls answered by an outcome from another
	// process (one per process and flight, however many callers waited
	// for it here).
	Follows uint64
	// Takeovers counts the leads that began after this process had waited
	// for another leader that went away: its lease was released without
	// an outcome (panic, Goexit, context error, abandoned) or ran out
	// (crash, partition), or the notification was lost. Only across a
	// takeover can fn run twice at once for a key, when the old leader is
	// in fact still running.
	Takeovers uint64
	// Fallbacks counts the runs of fn without the lease because Redis could
	// not be used (coalesced only inside this process).
	Fallbacks uint64
	// RedisErrors counts the Redis operations that failed or timed out.
	RedisErrors uint64
	// BadPayloads counts the outcomes that could not cross: a leader's
	// value that failed to encode or was too large, and a frame that a
	// follower could not read (too large, malformed, or rejected by the
	// codec) or that told it of such a value. Each follower concerned
	// runs fn itself.
	BadPayloads uint64
	// Fenced counts the leads that ended after their lease had run out: the
	// outcome answered the callers in this process and was not published.
	Fenced uint64
	// Abandoned counts the leads whose context ended while fn ran (every
	// caller in this process left, or the call timeout passed): the lease
	// was released at once, so another process may lead while this fn is
	// still returning.
	Abandoned uint64
	// Joins counts the callers that joined a call already running in this
	// process (from the Group in front).
	Joins uint64
	// Hits counts the calls answered by an outcome retained in Redis
	// (WithForget), one per process and look however many callers shared
	// it here.
	Hits uint64
	// LocalHits counts the calls answered by a local copy of a retained
	// outcome (WithLocalCopies), without a round trip.
	LocalHits uint64
	// Refreshes counts the early refreshes that took the lease and ran fn
	// (counted in Leads too).
	Refreshes uint64
	// Stale counts the answers of expired values: served because the call
	// that should have replaced one failed (WithStaleIfError), or while an
	// early refresh still ran.
	Stale uint64
}

type counters struct {
	leads, follows, takeovers atomic.Uint64
	fallbacks, redisErrors    atomic.Uint64
	badPayloads, fenced       atomic.Uint64
	abandoned                 atomic.Uint64
	hits, refreshes, stale    atomic.Uint64
	localHits                 atomic.Uint64
}

// Stats returns a snapshot of the group's counters. It does not block
// callers.
func (g *Group[V]) Stats() Stats {
	return Stats{
		Leads:       g.st.leads.Load(),
		Follows:     g.st.follows.Load(),
		Takeovers:   g.st.takeovers.Load(),
		Fallbacks:   g.st.fallbacks.Load(),
		RedisErrors: g.st.redisErrors.Load(),
		BadPayloads: g.st.badPayloads.Load(),
		Fenced:      g.st.fenced.Load(),
		Abandoned:   g.st.abandoned.Load(),
		Joins:       g.local.Stats().Joins,
		Hits:        g.st.hits.Load(),
		LocalHits:   g.st.localHits.Load(),
		Refreshes:   g.st.refreshes.Load(),
		Stale:       g.st.stale.Load(),
	}
}
