package flight

import (
	"context"
	"runtime"
	"sync"
	"time"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

// call is one execution of fn for one key.
type call[V any] struct {
	// Exactly one of fn and fnCtx is set when the call is created; both are
	// cleared when it returns, so the call does not keep fn's closure alive.
	fn    func() (V, error)
	fnCtx func(context.Context) (V, error)

	// ctx is fnCtx's context, initialised only when hasCtx is set. The group
	// holds its one reference and releases it when the call is abandoned.
	ctx    flightctx.Shared
	hasCtx bool // set when the call is created, never changed

	// wg is released when the outcome is published. Waiters that never
	// detach (Do, and DoCtx with a context that cannot end) wait on it.
	wg sync.WaitGroup

	// The outcome. Written by the goroutine running fn before wg.Done and
	// close(done), and only read after them.
	val    V
	err    error
	panic  *PanicError // non-nil when fn panicked
	goexit bool        // fn called runtime.Goexit
	shared bool        // more than one waiter received the outcome

	// Guarded by the group's mutex.
	done      chan struct{}      // closed with the outcome; made when a waiter that can detach arrives
	chans     []chan<- Result[V] // DoChan waiters
	waiters   int                // attached waiters; 0 means abandoned (perhaps lingering)
	finished  bool               // outcome published; if still mapped, it is retained
	abandoned bool               // every waiter detached; counted in Stats.Abandoned
	cancelled bool               // Group.Cancel released the key
	lingerGen uint64             // identifies the current linger timer
	expiry    *time.Timer        // ends the retention window of a retained outcome
}

// invoke runs the caller's function.
func (c *call[V]) invoke() (V, error) {
	if c.fnCtx != nil {
		return c.fnCtx(&c.ctx)
	}
	return c.fn()
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
