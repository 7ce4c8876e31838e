package ctx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAbandoned is the cause (see [context.Cause]) of a [Shared] context that
// was cancelled because its last holder released it. The flight package
// re-exports it as flight.ErrAbandoned.
var ErrAbandoned = errors.New("flight: abandoned by every waiter")

// Shared is a reference-counted [context.Context]. It carries the values of
// the parent given to [New] for its whole life, is never cancelled by that
// parent, and is cancelled when its holder count drops to zero or when
// [Shared.Cancel] is called, whichever comes first. Once cancelled it stays
// cancelled: [Shared.Acquire] then returns false.
//
// All methods are safe for concurrent use. Use [New]; the zero value is not a
// usable Shared.
type Shared struct {
	parent   context.Context // values only; never watched for cancellation
	deadline time.Time       // zero unless built WithTimeout; fixed in New

	mu      sync.Mutex
	holders int   // guarded by mu
	cause   error // guarded by mu; non-nil once cancelled

	// inner is the real context, built on first use by a Context method and
	// never replaced. cancel is written with it, under mu.
	inner    atomic.Pointer[context.Context]
	cancel   context.CancelCauseFunc
	stopTime context.CancelFunc // stops the deadline timer; nil without one
}

// Option configures a [Shared] built by [New].
type Option interface {
	apply(*Shared)
}

type optionFunc func(*Shared)

func (f optionFunc) apply(s *Shared) { f(s) }

// WithTimeout gives the Shared context a deadline d after [New] returns. When
// it passes, the context is cancelled with [context.DeadlineExceeded]. A zero
// or negative d means no deadline.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(s *Shared) {
		if d > 0 {
			s.deadline = time.Now().Add(d)
		}
	})
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
	if parent == nil {
		panic("ctx: nil parent Context")
	}
	s.parent = parent
	s.holders = 1
	for _, o := range opts {
		o.apply(s)
	}
}

// Acquire adds a holder and reports true, or reports false without any effect
// when s is already cancelled: a cancelled Shared is never revived.
func (s *Shared) Acquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelled() {
		return false
	}
	s.holders++
	return true
}

// Release drops a holder. When it drops the last one, s is cancelled with
// cause [ErrAbandoned] and Release reports true. Releasing a cancelled Shared
// is harmless. Release panics if called more often than holders were added.
func (s *Shared) Release() (last bool) {
	s.mu.Lock()
	if s.holders <= 0 {
		s.mu.Unlock()
		panic("ctx: Release without a matching Acquire")
	}
	s.holders--
	last = s.holders == 0
	s.mu.Unlock()
	if last {
		s.Cancel(ErrAbandoned)
	}
	return last
}

// Holders reports how many holders s has now.
func (s *Shared) Holders() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holders
}

// cancelled reports whether s is cancelled, recording a passed deadline as
// the cause: the deadline timer lives in the lazily built context, so it may
// not exist yet. s.mu must be held.
func (s *Shared) cancelled() bool {
	if s.cause == nil && !s.deadline.IsZero() && !time.Now().Before(s.deadline) {
		s.cause = context.DeadlineExceeded
	}
	return s.cause != nil
}

// Cancel cancels s with cause (context.Canceled when cause is nil), whatever
// its holder count. Only the first cancellation counts.
func (s *Shared) Cancel(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	s.mu.Lock()
	if s.cancelled() {
		s.mu.Unlock()
		return
	}
	s.cause = cause
	cancel, stopTime := s.cancel, s.stopTime
	s.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
	if stopTime != nil {
		stopTime()
	}
}

// ctx returns the underlying context, building it on first use. A Shared
// cancelled before anyone looked at it builds an already-cancelled one, so
// every observer sees the same cause.
func (s *Shared) ctx() context.Context {
	if p := s.inner.Load(); p != nil {
		return *p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.inner.Load(); p != nil {
		return *p
	}
	c, cancel := context.WithCancelCause(context.WithoutCancel(s.parent))
	s.cancel = cancel
	switch {
	case s.cause != nil:
		// Cancelled before anyone looked: build it cancelled, with the
		// cause it was given and no deadline layer that could hide it.
		cancel(s.cause)
	case !s.deadline.IsZero():
		c, s.stopTime = context.WithDeadline(c, s.deadline)
	}
	s.inner.Store(&c)
	return c
}

// Deadline reports the deadline set by [WithTimeout], if any.
func (s *Shared) Deadline() (deadline time.Time, ok bool) {
	return s.deadline, !s.deadline.IsZero()
}

// Done returns a channel that is closed when s is cancelled.
func (s *Shared) Done() <-chan struct{} { return s.ctx().Done() }

// Err returns nil while s is live, [context.DeadlineExceeded] after its
// deadline, and [context.Canceled] after any other cancellation.
func (s *Shared) Err() error { return s.ctx().Err() }

// Value returns the parent's value for key. [context.Cause] also works
// through Value, so it reports the cause given to [Shared.Cancel] or
// [ErrAbandoned].
func (s *Shared) Value(key any) any { return s.ctx().Value(key) }

// String describes s for debugging.
func (s *Shared) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	state := "live"
	if s.cancelled() {
		state = "cancelled: " + s.cause.Error()
	}
	return "flightctx.Shared(" + state + ")"
}
