package batch

import (
	"context"
	"slices"
	"time"

	"github.com/flightkit/flightkit/flight"
	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

// state is where a batch is in its life. Every transition happens under
// Loader.mu:
//
//	collecting  window ends, slot free   -> running, on the timer's goroutine
//	collecting  full, slot free          -> starting (a goroutine is spawned)
//	collecting  window ends or full      -> queued, when every slot is taken
//	(new batch) no window, slot free     -> starting
//	(new batch) no window, no slot       -> queued
//	queued      a fetch hands its slot   -> running, on that fetch's goroutine
//	starting    its goroutine runs       -> running (or discarded, if empty)
//	running     its last waiter leaves   -> abandoned
//	running     fetch returns            -> done
//	abandoned   fetch returns            -> done
//	collecting  its last waiter leaves   -> discarded (timer stopped)
//	queued      its last waiter leaves   -> discarded (left the queue)
//
// Until it runs, a batch takes new keys while it is its partition's open
// batch (see Loader.open), which it stops being when it runs or is full. A
// batch for a key that is not equal to itself (alone) is never open.
type state uint8

const (
	collecting state = iota
	queued
	starting
	running
	abandoned
	done
	discarded
)

// entry is one key of a batch.
type entry[K comparable, V any] struct {
	key K

	// The outcome, written by the goroutine that ran fetch before the
	// batch's done channel closes and its state becomes done; read after
	// either.
	val V
	err error

	// Guarded by Loader.mu.
	waiters int32 // callers waiting; each duplicate of a LoadMany counts
	dropped bool  // every waiter left before the fetch; not fetched
	mapped  bool  // Loader.keys[key] locates this entry, if batch.mapped > 0
}

// batch is one fetch: the keys it collects, then its outcome.
type batch[K comparable, V any] struct {
	part  string        // partition; set at creation
	alone bool          // one key that is not equal to itself; set at creation
	done  chan struct{} // closed when the outcome is published (shard 0)

	// Guarded by Loader.mu.
	state  state
	shards []chan struct{} // done channels of entries shardSize and up (see doneFor)
	ents   []entry[K, V]   // appended to while open, fixed once running
	free   []int32         // dropped entries to reuse, until the batch runs
	live   int             // entries with waiters; before running, the undropped ones
	mapped int             // entries that Loader.keys locates; 0: none, whatever their flags
	timer  *time.Timer     // the window, while collecting
	parent context.Context // the opener's context, until the batch runs

	// Set when the batch starts running, under Loader.mu, then read-only.
	keys []K
	ctx  flightctx.Shared // fetch's context; the loader holds its one reference

	// How fetch ended, written before done closes, read after; without
	// either, each entry holds its outcome.
	panic  *flight.PanicError
	goexit bool

	// Room for the first key, so a batch of one needs no more allocations.
	one    [1]entry[K, V]
	oneKey [1]K
}

// slot locates a key's entry: index i of b.ents.
type slot[K comparable, V any] struct {
	b *batch[K, V]
	i int
}

func (s slot[K, V]) entry() *entry[K, V] { return &s.b.ents[s.i] }

// shardSize is how many entries of a batch share a done channel. A Load
// waits in a select on its key's channel and its own context, and a select
// locks every channel again once woken: a batch of many keys spreads its
// waiters over several channels, all closed when the outcome is published,
// so that they do not queue for one channel's lock as they wake.
const shardSize = 16

// doneFor returns the channel that closes when s's outcome is published, for
// a waiter to select on, creating it for a new shard. l.mu must be held.
func (s slot[K, V]) doneFor() chan struct{} {
	n := s.i / shardSize
	if n == 0 {
		return s.b.done
	}
	for len(s.b.shards) < n {
		s.b.shards = append(s.b.shards, make(chan struct{}))
	}
	return s.b.shards[n-1]
}

// outcome returns the value or error of s, whose batch is done and did not
// panic.
func (s slot[K, V]) outcome() (V, error) {
	e := s.entry()
	return e.val, e.err
}

// acquire adds one waiter for key and returns its entry: a pending or
// running one for key, or a new one in key's partition's open batch, or, for
// a key that is not equal to itself, in a batch of its own. want is how many
// keys of the partition the caller is about to add, counting this one, so
// that a batch grows once for a LoadMany. l.mu must be held.
func (l *Loader[K, V]) acquire(ctx context.Context, key K, part string, want int, alone bool) slot[K, V] {
	if alone {
		return l.acquireAlone(ctx, key, part)
	}
	if s, ok := l.keys[key]; ok {
		e := s.entry()
		if e.waiters == 0 {
			s.b.live++ // only while running: earlier, the entry was dropped
		}
		e.waiters++
		return s
	}
	b := l.openBatch(ctx, part)
	s := slot[K, V]{b, l.newEntry(b, want)}
	b.ents[s.i] = entry[K, V]{key: key, waiters: 1, mapped: true}
	b.live++
	b.mapped++
	l.keys[key] = s
	if l.cfg.maxBatch > 0 && b.live >= l.cfg.maxBatch {
		l.full(b)
	}
	return s
}

// acquireAlone fetches key, which is not equal to itself, in a batch of its
// own that nobody else can join: such a key can never be found in
// Loader.keys again, so it is never put there. l.mu must be held.
func (l *Loader[K, V]) acquireAlone(ctx context.Context, key K, part string) slot[K, V] {
	b := &batch[K, V]{part: part, alone: true, done: make(chan struct{}), parent: ctx}
	b.one[0] = entry[K, V]{key: key, waiters: 1}
	b.ents = b.one[:]
	b.live = 1
	l.dispatch(b)
	return slot[K, V]{b, 0}
}

// newEntry returns the index of a free entry of b, the open batch, reusing
// one whose key was dropped, or growing b.ents: at once to want entries (or
// the size of the last batch, up to MaxBatch) when it outgrows its first.
// l.mu must be held.
func (l *Loader[K, V]) newEntry(b *batch[K, V], want int) int {
	if n := len(b.free); n > 0 {
		i := b.free[n-1]
		b.free = b.free[:n-1]
		return int(i)
	}
	if len(b.ents) == cap(b.ents) {
		grow := max(want, len(b.ents)) // at least double
		if len(b.ents) == 1 {
			grow = max(grow, l.hint-1)
		}
		if room := l.cfg.maxBatch - b.live; room > 0 {
			grow = min(grow, room)
		}
		b.ents = slices.Grow(b.ents, grow)
	}
	b.ents = b.ents[:len(b.ents)+1]
	return len(b.ents) - 1
}

// openBatch returns the batch that takes new keys in partition part,
// creating it, with ctx as its opener, when there is none. l.mu must be held.
func (l *Loader[K, V]) openBatch(ctx context.Context, part string) *batch[K, V] {
	if b := l.opened(part); b != nil {
		return b
	}
	b := &batch[K, V]{part: part, done: make(chan struct{}), parent: ctx}
	b.ents = b.one[:0]
	if l.part == nil {
		l.open = b
	} else {
		if l.parts == nil {
			l.parts = make(map[string]*batch[K, V])
		}
		l.parts[part] = b
	}
	if l.cfg.window > 0 {
		b.state = collecting
		b.timer = time.AfterFunc(l.cfg.window, func() { l.windowEnd(b) })
		l.timers++
	} else {
		l.dispatch(b)
	}
	return b
}

func (l *Loader[K, V]) opened(part string) *batch[K, V] {
	if l.part == nil {
		return l.open
	}
	return l.parts[part]
}

// unopen stops b taking new keys. l.mu must be held.
func (l *Loader[K, V]) unopen(b *batch[K, V]) {
	if l.part == nil {
		if l.open == b {
			l.open = nil
		}
	} else if l.parts[b.part] == b {
		delete(l.parts, b.part)
	}
}

// full closes b, which has reached MaxBatch, to new keys, and dispatches it
// at once if its window is still open. l.mu must be held.
func (l *Loader[K, V]) full(b *batch[K, V]) {
	l.unopen(b)
	if b.state == collecting {
		l.stopTimer(&b.timer) // if it already fired, windowEnd sees the new state
		l.dispatch(b)
	}
}

// stopTimer stops the timer *t and forgets it. When the timer has already
// fired, its function is on its way and accounts for it. l.mu must be held.
func (l *Loader[K, V]) stopTimer(t **time.Timer) {
	if *t != nil && (*t).Stop() {
		l.timers--
	}
	*t = nil
}
