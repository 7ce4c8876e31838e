package flight

import (
	"time"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
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
	onPanic func(*PanicError)
	ctxOpts []flightctx.Option // for the shared context of DoCtx calls
	forget  forget.Policy      // nil: forget at once
}

// WithCallTimeout gives the context that [Group.DoCtx] passes to fn a
// deadline d after the call starts. Without it fn's context has no deadline:
// waiters bring their own deadlines and leave when they pass. It panics if d
// is negative; zero means no timeout.
func WithCallTimeout(d time.Duration) Option {
	if d < 0 {
		panic("flight: negative call timeout")
	}
	return optionFunc(func(c *config) {
		if d > 0 {
			c.ctxOpts = append(c.ctxOpts, flightctx.WithTimeout(d))
		}
	})
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
