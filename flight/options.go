package flight

import (
	"time"

	"github.com/flightkit/flightkit/flight/forget"
)

// Option configures a [Group] built by [New]. Options are not generic, so
// New[string, User](WithLinger(time.Millisecond)) needs no type arguments on
// the option.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the read-only configuration of a Group. The zero config is the
// zero Group's behaviour, which is x/sync's.
type config struct {
	linger  time.Duration
	timeout time.Duration // deadline of fn's context; 0: none
	hedge   time.Duration // delay before a backup execution; 0: none
	onPanic func(*PanicError)
	forget  forget.Policy // nil: forget at once
}

// WithCallTimeout gives the context that [Group.DoCtx] passes to fn a
// deadline d after the call starts, so that a call stuck in fn (a query that
// hangs) ends, provided fn honours its context, and the next caller of its
// key starts afresh. Without it fn's context has no deadline: waiters bring
// their own deadlines and leave when they pass, but as long as callers keep
// arriving they join the stuck call, and every one of them fails. A
// deadline that passed wins over any later cancellation of fn's context.
// It panics if d is negative; zero means no timeout.
func WithCallTimeout(d time.Duration) Option {
	if d < 0 {
		panic("flight: negative call timeout")
	}
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithLinger delays the cancellation of a [Group.DoCtx] call whose last
// waiter detached by d. A caller that arrives within d (a client retrying at
// once) re-attaches to the running call instead of paying for a second one;
// after d the call's context is cancelled with [ErrAbandoned] and the key is
// released. It panics if d is negative; zero, the default, cancels at once.
func WithLinger(d time.Duration) Option {
	if d < 0 {
		panic("flight: negative linger")
	}
	return optionFunc(func(c *config) { c.linger = d })
}

// WithPanicHandler sets the function that receives a panic from fn when no
// waiter is left to receive it (every DoCtx waiter detached). h runs on the
// goroutine that ran fn. Without a handler such a panic crashes the process,
// as an unrecovered panic in any goroutine does: flight never swallows a
// panic. A panic that some waiter can receive never reaches h.
func WithPanicHandler(h func(*PanicError)) Option {
	return optionFunc(func(c *config) { c.onPanic = h })
}

// WithForget sets how long a finished call's outcome stays shareable (see the
// forget package). Callers that arrive within the window receive the retained
// outcome with shared == true and fn is not called. Without it, or with
// forget.Now(), outcomes are forgotten at once, as with x/sync. A nil policy
// is the same as forget.Now().
func WithForget(p forget.Policy) Option {
	return optionFunc(func(c *config) { c.forget = p })
}

// WithHedge makes a [Group.DoCtx] or [Group.DoChanCtx] call that has run for
// d without an outcome start one backup execution of its fn, with a context
// of its own (the starter's values, the same deadline). Every waiter, those
// already attached and those that join later, receives the outcome that
// arrives first, whichever execution produced it; the other execution's
// context is then cancelled with cause [ErrHedgeLost], and what it returns is
// dropped. It is the hedged request of "The Tail at Scale" (Dean and Barroso,
// 2013): it cuts the latency tail of a backend that now and then stalls, at
// the price of running fn twice for the calls that reach d. Only fn's that
// can safely run twice at once should be hedged.
//
// At most one backup starts per call, and none when the call has no waiter
// left at d (it lingers), was cancelled ([Group.Cancel], its call timeout),
// or was abandoned; a call that was only forgotten ([Group.Forget]) still
// hedges for the waiters it has. Cancel and abandonment cancel both
// executions. Calls started by Do or DoChan are never hedged: their fn has no
// context to cancel. With a hedge, DoCtx always runs fn on a goroutine of its
// own, even when the caller's context can never end. See docs/semantics.md
// for panics, Goexit and forget policies. It panics if d is negative; zero,
// the default, never hedges.
func WithHedge(d time.Duration) Option {
	if d < 0 {
		panic("flight: negative hedge delay")
	}
	return optionFunc(func(c *config) { c.hedge = d })
}
