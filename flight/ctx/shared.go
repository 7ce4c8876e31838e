package ctx

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// ErrAbandoned is the cause (see [context.Cause]) of a [Shared] context that
// was cancelled because its last holder released it. The flight package
// re-exports it as flight.ErrAbandoned: it is the same value.
var ErrAbandoned = callctx.ErrAbandoned

// Shared is a reference-counted [context.Context]. It carries the values of
// the parent given to [New] for its whole life, is never cancelled by that
// parent, and is cancelled when its holder count drops to zero or when
// [Shared.Cancel] is called, whichever comes first. Once cancelled it stays
// cancelled: [Shared.Acquire] then returns false.
//
// All methods are safe for concurrent use. Use [New] or [Init]; the zero
// value is not a usable Shared.
type Shared struct {
	c       callctx.Ctx
	holders atomic.Int32
}

// Option configures a [Shared] built by [New] or [Init].
type Option interface {
	apply(config) config
}

// config is passed by value, so that Init allocates nothing for it.
type config struct{ timeout time.Duration }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTimeout gives the Shared context a deadline d after [New] (or [Init])
// returns. When it passes, the context is cancelled with
// [context.DeadlineExceeded], holders or not; a deadline that passed first
// wins over any later cancellation, even one that comes before the deadline's
// timer has run. A zero or negative d means no deadline.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c config) config { c.timeout = d; return c })
}

// New returns a Shared context with the values of parent and one holder, the
// caller. It panics if parent is nil, as the context package does.
func New(parent context.Context, opts ...Option) *Shared {
	s := &Shared{}
	Init(s, parent, opts...)
	return s
}

// Init prepares s, which must be a zero Shared that is not yet shared with
// other goroutines, exactly as [New] would, with one holder. It lets a larger
// struct embed a Shared without a separate allocation.
func Init(s *Shared, parent context.Context, opts ...Option) {
	var cfg config
	for _, o := range opts {
		cfg = o.apply(cfg)
	}
	s.c.Init(parent, cfg.timeout, false)
	s.holders.Store(1)
}

// Acquire adds a holder and reports true, or reports false without any effect
// when s is already cancelled (or its deadline passed), or its last holder has
// released it: a Shared is never revived.
func (s *Shared) Acquire() bool {
	for {
		h := s.holders.Load()
		if h <= 0 || !s.c.Live() {
			return false
		}
		if s.holders.CompareAndSwap(h, h+1) {
			return true
		}
	}
}

// Release drops a holder. When it drops the last one, s is cancelled with
// cause [ErrAbandoned] and Release reports true. Releasing a cancelled Shared
// is harmless. Release panics if called more often than holders were added.
func (s *Shared) Release() (last bool) {
	h := s.holders.Add(-1)
	if h < 0 {
		s.holders.Add(1)
		panic("flightctx: Release without a matching Acquire")
	}
	if h == 0 {
		s.c.Cancel(callctx.Abandoned, nil)
	}
	return h == 0
}

// Holders reports how many holders s has now.
func (s *Shared) Holders() int {
	return max(int(s.holders.Load()), 0)
}

// Cancel cancels s with cause (context.Canceled when cause is nil), whatever
// its holder count. Only the first cancellation counts, and a deadline that
// has passed counts as first.
func (s *Shared) Cancel(cause error) {
	s.c.Cancel(callctx.Cause, cause)
}

// Deadline reports the deadline set by [WithTimeout], if any.
func (s *Shared) Deadline() (deadline time.Time, ok bool) { return s.c.Deadline() }

// Done returns a channel that is closed when s is cancelled.
func (s *Shared) Done() <-chan struct{} { return s.c.Done() }

// Err returns nil while s is live, [context.DeadlineExceeded] after its
// deadline, and [context.Canceled] after any other cancellation.
func (s *Shared) Err() error { return s.c.Err() }

// Value returns the parent's value for key. [context.Cause] also works
// through Value, so it reports the cause given to [Shared.Cancel],
// [ErrAbandoned] or [context.DeadlineExceeded].
func (s *Shared) Value(key any) any { return s.c.Value(key) }

// AfterFunc arranges for f to run after s is cancelled, and returns a
// function that unregisters f and reports whether it did so before f ran.
// It exists for the context package, which looks for this method so that
// child contexts and [context.AfterFunc] attach to s without a goroutine of
// their own: f runs on the goroutine that cancels s (on a new goroutine when
// s is already cancelled), so it must be quick and must not block. Call
// [context.AfterFunc] rather than this method.
func (s *Shared) AfterFunc(f func()) (stop func() bool) { return s.c.AfterFunc(f) }

// String describes s for debugging.
func (s *Shared) String() string {
	return "flightctx.Shared(" + s.c.String() + ")"
}
