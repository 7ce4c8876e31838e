package flight

import (
	"runtime"
	"sync"
	"time"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

// call is one execution of fn for one key. It is kept small, since Do
// allocates one per execution; what only DoCtx, DoChan and mixed waiters
// need lives in extra.
//
// fn itself is not stored: it is handed to doCall, so nothing keeps its
// closure alive once it returns.
type call[V any] struct {
	// wg is released when the outcome is published. Waiters that never
	// detach (Do, and DoCtx with a context that cannot end) wait on it.
	wg sync.WaitGroup

	// The outcome. Written by the goroutine running fn before wg.Done and
	// close(x.done), and only read after them.
	val    V
	err    error
	panic  *PanicError // non-nil when fn panicked
	goexit bool        // fn called runtime.Goexit
	shared bool        // more than one waiter received the outcome

	hasCtx bool // a DoCtx call: x and x.ctx set at creation, never changed

	// Guarded by the group's mutex.
	finished  bool        // outcome published; if still mapped, it is retained
	abandoned bool        // every waiter detached; counted in Stats.Abandoned
	cancelled bool        // Group.Cancel released the key
	waiters   int         // attached waiters; 0 means abandoned (perhaps lingering)
	expiry    *time.Timer // ends the retention window of a retained outcome
	x         *extra[V]   // made on demand; set at creation for DoCtx and DoChan
}

// extra holds what only calls with DoCtx or DoChan waiters need.
type extra[V any] struct {
	// ctx is fn's context in a DoCtx call that can be abandoned, set when
	// the call is created (nil otherwise). The group holds its one
	// reference for all the waiters and releases it when the call is
	// abandoned.
	ctx *flightctx.Shared

	// Guarded by the group's mutex.
	done      chan struct{}      // closed with the outcome; made for the first waiter that can detach
	chans     []chan<- Result[V] // DoChan waiters
	lingerGen uint64             // identifies the current linger timer
	linger    *time.Timer        // pending linger timer, if any
}

// stopLinger stops a pending linger timer, so it does not keep the call
// alive for the rest of its delay. The group's mutex must be held.
func (x *extra[V]) stopLinger() {
	if x.linger != nil {
		x.linger.Stop()
		x.linger = nil
	}
}

// chanCall lets a DoChan call and its extra share one allocation.
type chanCall[V any] struct {
	c call[V]
	x extra[V]
}

// ctxCall lets a DoCtx call, its extra and its context share one
// allocation. DoChan calls do without the context, which is most of it.
type ctxCall[V any] struct {
	chanCall[V]
	ctx flightctx.Shared
}

// callKind selects what [Group.start] allocates.
type callKind uint8

const (
	plainCall callKind = iota // Do, and DoCtx run inline with the caller's ctx
	chanKind                  // DoChan: with an extra
	ctxKind                   // DoCtx: with an extra and a shared context
)

func newCall[V any](kind callKind) *call[V] {
	switch kind {
	case chanKind:
		b := &chanCall[V]{}
		b.c.x = &b.x
		return &b.c
	case ctxKind:
		b := &ctxCall[V]{}
		b.c.x, b.x.ctx = &b.x, &b.ctx
		return &b.c
	}
	return new(call[V])
}

// ext returns c's extra, making it if needed. The group's mutex must be held.
func (c *call[V]) ext() *extra[V] {
	if c.x == nil {
		c.x = new(extra[V])
	}
	return c.x
}

// outcome returns the published outcome to a waiter that blocked for it. A
// panic re-panics in the waiter. A Goexit ends a Do waiter's goroutine too,
// exactly as x/sync does, and is ErrGoexit for a DoCtx waiter.
func (c *call[V]) outcome(do bool) (V, error, bool) {
	if c.panic != nil {
		panic(c.panic)
	}
	if c.goexit {
		if do {
			runtime.Goexit()
		}
		var zero V
		return zero, ErrGoexit, c.shared
	}
	return c.val, c.err, c.shared
}

// result is the outcome as a DoChan waiter receives it. It is never called
// for a panic: with a DoChan waiter present, a panic crashes the process.
func (c *call[V]) result() Result[V] {
	if c.goexit {
		return Result[V]{Err: ErrGoexit, Shared: c.shared}
	}
	return Result[V]{Val: c.val, Err: c.err, Shared: c.shared}
}
