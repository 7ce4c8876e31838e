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
// batch (see Loader.open), which it stops being when it runs or is full.
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
	waiters int  // callers waiting; each duplicate of a LoadMany counts
	dropped bool // every waiter left before the fetch; not fetched
	mapped  bool // Loader.keys[key] locates this entry
}

// batch is one fetch: the keys it collects, then its outcome.
type batch[K comparable, V any] struct {
	part string        // partition; set at creation
	done chan struct{} // closed when the outcome is published

	// Guarded by Loader.mu.
	state  state
	ents   []entry[K, V]   // appended to while open, fixed once running
	live   int             // entries with waiters; before running, the undropped ones
	kept   int             // entries retained and still in Loader.keys (done only)
	timer  *time.Timer     // the window while collecting, the retention when done
	parent context.Context // the opener's context, until the batch runs

	// Set when the batch starts running, under Loader.mu, then read-only.
	keys []K
	ctx  flightctx.Shared // fetch's context; the loader holds its one reference

	// How fetch ended, written before done closes, with the end of each
	// entry's retention window (zero: not kept), made only when the
	// forget policy keeps an entry.
	panic  *flight.PanicError
	goexit bool
	until  []time.Time

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

// acquire adds one waiter for key and returns its entry: a pending or
// running one for key, a retained one, or a new one in key's partition's open
// batch. want is how many keys the caller is about to add, counting this one,
// so that a batch grows once for a LoadMany. l.mu must be held.
func (l *Loader[K, V]) acquire(ctx context.Context, key K, part string, want int) slot[K, V] {
	if s, ok := l.keys[key]; ok {
		e := s.entry()
		if s.b.state != done {
			if e.waiters == 0 {
				s.b.live++ // only while running: earlier, the entry was dropped
			}
			e.waiters++
			return s
		}
		if time.Now().Before(s.b.until[s.i]) {
			return s // retained: not a waiter, nothing to leave
		}
		l.unkeep(s)
	}
	b := l.openBatch(ctx, part)
	if len(b.ents) == cap(b.ents) && want > 1 {
		if room := l.cfg.maxBatch - b.live; room > 0 && room < want {
			want = room
		}
		b.ents = slices.Grow(b.ents, want)
	}
	s := slot[K, V]{b, len(b.ents)}
	b.ents = append(b.ents, entry[K, V]{key: key, waiters: 1, mapped: true})
	b.live++
	l.keys[key] = s
	if l.cfg.maxBatch > 0 && b.live >= l.cfg.maxBatch {
		l.full(b)
	}
	return s
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
		l.stopTimer(b) // if it already fired, windowEnd sees the new state
		l.dispatch(b)
	}
}

// stopTimer stops b's timer. When the timer has already fired, its function
// is on its way and accounts for it. l.mu must be held.
func (l *Loader[K, V]) stopTimer(b *batch[K, V]) {
	if b.timer != nil && b.timer.Stop() {
		l.timers--
	}
	b.timer = nil
}

// leave removes one waiter from s, whose batch is not done. A key that loses
// its last waiter before its fetch starts is dropped from the batch, and a
// batch that loses its last waiter is discarded before it runs, abandoned
// while it runs. l.mu must be held.
func (l *Loader[K, V]) leave(s slot[K, V]) {
	b, e := s.b, s.entry()
	e.waiters--
	if e.waiters > 0 {
		return
	}
	b.live--
	switch b.state {
	case running:
		if b.live == 0 {
			l.abandon(b)
		}
		return
	case abandoned:
		panic("batch: internal error: waiter left an abandoned batch")
	}
	e.dropped = true
	l.unmap(e)
	if b.live > 0 {
		return
	}
	switch b.state {
	case collecting:
		l.stopTimer(b)
	case queued:
		l.queue = slices.DeleteFunc(l.queue, func(q *batch[K, V]) bool { return q == b })
	default:
		return // starting: its goroutine finds it empty and gives the slot back
	}
	l.unopen(b)
	b.state = discarded
	b.parent = nil
}

// abandon cancels the fetch of a running batch nobody waits for, with cause
// ErrAbandoned, and releases its keys in the same locked step, so that a
// later load starts a new fetch and never receives this one's outcome.
// l.mu must be held.
func (l *Loader[K, V]) abandon(b *batch[K, V]) {
	b.state = abandoned
	for i := range b.ents {
		l.unmap(&b.ents[i])
	}
	b.ctx.Release()
}

// unmap removes e's key from Loader.keys if it locates e. l.mu must be held.
func (l *Loader[K, V]) unmap(e *entry[K, V]) {
	if e.mapped {
		delete(l.keys, e.key)
		e.mapped = false
	}
}
