package flight

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a [Group]'s counters, as returned by [Group.Stats].
// All counts but InFlight only grow.
type Stats struct {
	// InFlight is the number of executions of fn currently running (a
	// hedged call has two while its backup runs).
	InFlight int
	// Executions counts the executions started: every call that ran or was
	// to run fn, backups of hedged calls included.
	Executions uint64
	// Joins counts the callers that received (or waited for) another
	// caller's execution instead of starting one.
	Joins uint64
	// Hits counts the callers served from an outcome retained by a forget
	// policy, without waiting.
	Hits uint64
	// Abandoned counts calls whose context was cancelled because every
	// waiter detached.
	Abandoned uint64
	// Skipped counts executions whose fn was never called, because every
	// waiter had detached before its goroutine began (or, for a hedge's
	// backup, the call had its outcome by then). They are counted in
	// Executions too.
	Skipped uint64
	// Panics counts executions in which fn panicked.
	Panics uint64
	// Hedges counts the backup executions started by [WithHedge], and
	// HedgeWins those whose outcome arrived first.
	Hedges, HedgeWins uint64
}

// counters are updated with atomics so that Stats and InFlight never take
// the group's lock. Only started and finished are on the common path.
type counters struct {
	started, finished atomic.Uint64
	joins, hits       atomic.Uint64
	abandoned         atomic.Uint64
	skipped           atomic.Uint64
	panics            atomic.Uint64
	hedges, hedgeWins atomic.Uint64
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
		Skipped:    g.st.skipped.Load(),
		Panics:     g.st.panics.Load(),
		Hedges:     g.st.hedges.Load(),
		HedgeWins:  g.st.hedgeWins.Load(),
	}
}

// OldestCall reports the key of the oldest call still running under its key,
// and how long it has run, or ok == false when none runs. It makes a stuck
// call visible: without [WithCallTimeout], a call whose fn never returns
// keeps its key forever, and every later caller of that key joins it.
//
// Reading the clock on every call would add about 40% to a Do (time.Now
// against Do in BenchmarkDoCosts: 51 ns against 122 ns on a 2-CPU machine), so a
// call's age is counted from the first OldestCall that saw it running: a call
// shows age 0 at the first OldestCall that sees it, and its true age is
// underestimated by at most the interval between two OldestCall calls. Call
// it regularly, from a monitoring loop. Calls that Forget, Cancel or
// abandonment released are not counted. OldestCall takes the group's lock and
// looks at every key, so it is for monitoring, not for every request.
func (g *Group[K, V]) OldestCall() (key K, age time.Duration, ok bool) {
	now := time.Now()
	var oldest time.Time
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, c := range g.m {
		if c.finished() {
			continue
		}
		a := c.rare()
		if a.seen.IsZero() {
			a.seen = now
		}
		if !ok || a.seen.Before(oldest) {
			key, oldest, ok = k, a.seen, true
		}
	}
	if ok {
		age = now.Sub(oldest)
	}
	return key, age, ok
}
