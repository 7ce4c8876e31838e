package flight

import "sync/atomic"

// Stats is a snapshot of a [Group]'s counters, as returned by [Group.Stats].
// All counts but InFlight only grow.
type Stats struct {
	// InFlight is the number of executions of fn currently running.
	InFlight int
	// Executions counts the times fn was started.
	Executions uint64
	// Joins counts the callers that received (or waited for) another
	// caller's execution instead of starting one.
	Joins uint64
	// Hits counts the callers served from an outcome retained by a forget
	// policy, without waiting.
	Hits uint64
	// Abandoned counts executions whose context was cancelled because every
	// waiter detached.
	Abandoned uint64
	// Panics counts executions in which fn panicked.
	Panics uint64
}

// counters are updated with atomics so that Stats and InFlight never take
// the group's lock.
type counters struct {
	started, finished atomic.Uint64
	joins, hits       atomic.Uint64
	abandoned         atomic.Uint64
	panics            atomic.Uint64
}

// InFlight reports the number of executions of fn running now. It does not
// block callers of the group.
func (g *Group[K, V]) InFlight() int {
	// Load finished first: both only grow, so the difference never goes
	// negative even while calls start and finish concurrently.
	f := g.st.finished.Load()
	return int(g.st.started.Load() - f)
}

// Stats returns a snapshot of the group's counters. It does not block
// callers; counters read at slightly different instants may disagree by the
// calls that moved in between.
func (g *Group[K, V]) Stats() Stats {
	return Stats{
		InFlight:   g.InFlight(),
		Executions: g.st.started.Load(),
		Joins:      g.st.joins.Load(),
		Hits:       g.st.hits.Load(),
		Abandoned:  g.st.abandoned.Load(),
		Panics:     g.st.panics.Load(),
	}
}
