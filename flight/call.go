package flight

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// call is one execution of fn for one key. It is kept small, since Do
// allocates one per execution (56 bytes for a word-sized V, a 64-byte
// allocation; x/sync's is 80): what only DoCtx, DoChan and mixed waiters need
// lives in extra, and what is rare (lingering, retention, hedging, DoChanCtx)
// in aux.
type call[V any] struct {
	// wg is released when the outcome is published, for the waiters that
	// never detach (Do, and DoCtx with a context that cannot end). Only the
	// first of them adds to it (fWG), so a call nobody joins never touches
	// it: two atomic operations fewer than x/sync on the common path.
	wg sync.WaitGroup

	// The outcome: written under the group's mutex by finish, before it is
	// published (fFinished), and never written again.
	val V
	err error // fn's error, or the *PanicError when fn panicked (fPanic)

	// waiters counts the attached waiters; 0 means abandoned or lingering.
	// Once a waiter that can detach is attached (fLeavers), it is accessed
	// atomically: such a waiter leaves without the group's mutex unless it
	// may be the last (see leave), and finish sets wFinished in it when it
	// publishes, so that a leaver knows whether it was counted. Otherwise
	// it is guarded by the group's mutex, like the rest.
	waiters uint32

	// Guarded by the group's mutex.
	flags  uint16    // fXxx; never written once fFinished is set
	mapped bool      // the call is the group's entry for its key
	x      *extra[V] // made on demand; set at creation for DoChan and DoCtx
}

// The flags of a call.
const (
	fFinished = 1 << iota // outcome published; if still mapped, it is retained
	fPanic                // err is the *PanicError
	fGoexit               // fn called runtime.Goexit
	fShared               // more than one waiter received the outcome
	fWG                   // wg.Add(1) was called for the waiters that never detach
	fLeavers              // a waiter that can detach was attached: waiters is atomic
)

// wFinished is set in call.waiters when the outcome is published.
const wFinished = 1 << 31

// count returns the number of waiters attached to c. The group's mutex must
// be held.
func (c *call[V]) count() uint32 {
	if c.flags&fLeavers != 0 {
		return atomic.LoadUint32(&c.waiters) &^ wFinished
	}
	return c.waiters
}

// extra holds what only calls with DoCtx or DoChan waiters need. The group's
// mutex guards its fields, which are set at creation or made on demand.
type extra[V any] struct {
	// ctx is fn's context in a call that can be cancelled (a DoCtx or
	// DoChanCtx call with a context of the group's), set at creation. Until it is cancelled early (by Group.Cancel, its deadline
	// or a hedge), its Done channel is also what the waiters that can
	// detach wait on: finish cancels it once the outcome is published.
	ctx *callctx.Ctx
	ch  chan<- Result[V] // the first channel waiter (DoChan)
	aux *aux[V]
}

// aux holds the rare parts of a call. The group's mutex guards it.
type aux[V any] struct {
	// wake is closed when the outcome is published. Waiters that can detach
	// wait on it when the call has no context of its own (a Do or DoChan
	// call with DoCtx waiters), or when that context was cancelled first.
	wake     chan struct{}
	chans    []chan<- Result[V] // further channel waiters
	ctxChans []*chanWaiter[V]   // DoChanCtx waiters that can detach
	timer    *time.Timer        // the linger timer while running, the retention timer after
	hedge    *hedge[V]          // with WithHedge, for DoCtx calls
	seen     time.Time          // when OldestCall first saw the call running; zero: not yet
}

// chanWaiter is a DoChanCtx waiter that can detach. The group's mutex guards
// its fields.
type chanWaiter[V any] struct {
	ch       chan<- Result[V]
	stop     func() bool // unregisters the context.AfterFunc that detaches it
	answered bool        // it received (or is about to receive) its one Result
}

// ext returns c's extra, making it if needed. The group's mutex must be held.
func (c *call[V]) ext() *extra[V] {
	if c.x == nil {
		c.x = new(extra[V])
	}
	return c.x
}

// cancellable reports whether fn runs with a context of the group's, which
// Cancel and abandonment cancel. The group's mutex must be held.
func (c *call[V]) cancellable() bool { return c.x != nil && c.x.ctx != nil }

// stopTimer stops c's linger or retention timer, if it has one. The group's
// mutex must be held.
func (c *call[V]) stopTimer() {
	if x := c.x; x != nil && x.aux != nil && x.aux.timer != nil {
		x.aux.timer.Stop()
		x.aux.timer = nil
	}
}

// rare returns c's aux, making it (and extra) if needed. The group's mutex
// must be held.
func (c *call[V]) rare() *aux[V] {
	x := c.ext()
	if x.aux == nil {
		x.aux = new(aux[V])
	}
	return x.aux
}

// chanCall is a DoChan call: the call, its extra and what its goroutine
// needs, in one allocation.
type chanCall[K comparable, V any] struct {
	c   call[V]
	x   extra[V]
	g   *Group[K, V]
	key K
	fn  func() (V, error) // cleared when the goroutine takes it
}

// run is the goroutine of a DoChan call.
func (b *chanCall[K, V]) run() {
	fn := b.fn
	b.fn = nil
	b.g.doCall(&b.c, b.key, nil, false, fn, nil)
}

// ctxCall is a DoCtx call that runs fn with a context of the group's: the
// call, its extra, fn's context and what its goroutine needs, in one
// allocation.
type ctxCall[K comparable, V any] struct {
	c   call[V]
	x   extra[V]
	ctx callctx.Ctx
	g   *Group[K, V]
	key K
	fn  func(context.Context) (V, error) // cleared when the goroutine takes it
}

// startCtx makes and registers a DoCtx or DoChanCtx call for key, with its
// starter as the one waiter, which can detach when leaver is set, and arms
// its hedge. With wake, fn's context makes its Done channel at once, for the
// starter to wait on. g.mu must be held.
func (g *Group[K, V]) startCtx(ctx context.Context, key K, fn func(context.Context) (V, error), alone, leaver, wake bool) *ctxCall[K, V] {
	b := &ctxCall[K, V]{g: g, key: key, fn: fn}
	b.c.x, b.x.ctx = &b.x, &b.ctx
	b.c.waiters = 1
	if leaver {
		b.c.flags = fLeavers
	}
	b.ctx.Init(ctx, g.cfg.timeout, wake)
	g.insert(key, &b.c, alone)
	if g.cfg.hedge > 0 {
		g.armHedge(key, b)
	}
	return b
}

// run is the goroutine of a DoCtx call. Work that nobody waits for any more
// is not started (G12): when every waiter detached before this goroutine got
// to run, fn is not called.
func (b *ctxCall[K, V]) run() {
	fn := b.fn
	b.fn = nil
	if b.ctx.Kind() == callctx.Abandoned {
		b.g.st.skipped.Add(1)
		b.g.finish(&b.c, b.key, &b.ctx, false, &outcome[V]{err: ErrAbandoned})
		return
	}
	b.g.doCall(&b.c, b.key, &b.ctx, false, nil, fn)
}

// outcome is what one execution of fn produced.
type outcome[V any] struct {
	val    V
	err    error
	panic  *PanicError
	goexit bool
}

// finished reports whether c's outcome is published. The group's mutex must
// be held, or the publication observed.
func (c *call[V]) finished() bool { return c.flags&fFinished != 0 }

// outcome returns the published outcome to a waiter that blocked for it. A
// panic re-panics in the waiter. A Goexit ends a Do waiter's goroutine too,
// exactly as x/sync does, and is ErrGoexit for a DoCtx waiter.
func (c *call[V]) outcome(do bool) (V, error, bool) {
	shared := c.flags&fShared != 0
	if c.flags&(fPanic|fGoexit) != 0 {
		if c.flags&fPanic != 0 {
			panic(c.err)
		}
		if do {
			runtime.Goexit()
		}
		var zero V
		return zero, ErrGoexit, shared
	}
	return c.val, c.err, shared
}

// result is the outcome as a channel waiter receives it. It is never called
// for a panic: with a channel waiter present, a panic crashes the process.
func (c *call[V]) result() Result[V] {
	shared := c.flags&fShared != 0
	if c.flags&fGoexit != 0 {
		return Result[V]{Err: ErrGoexit, Shared: shared}
	}
	return Result[V]{Val: c.val, Err: c.err, Shared: shared}
}
