package memo

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// Option configures a [Cache] built by [New]. Options are not generic, so
// memo.New[string, User](p, memo.WithStaleIfError(time.Minute)) needs no
// type arguments on the option.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the read-only configuration of a Cache.
type config struct {
	beta    float64       // XFetch's beta; 0: no early refresh
	stale   time.Duration // the stale-if-error window
	timeout time.Duration // fn's deadline; 0: none
	onPanic func(*flight.PanicError)
	rand    func() float64 // uniform in [0, 1); tests swap it
}

func defaultConfig() config { return config{beta: 1, rand: rand.Float64} }

// WithEarlyRefresh sets the eagerness of early refresh, beta in XFetch: a
// call that receives a kept outcome starts a refresh when
//
//	now - delta * beta * ln(rand()) >= expiry
//
// where delta is how long fn took to compute that outcome and rand() is
// uniform in (0, 1]: with probability exp(-(expiry - now)/(delta*beta)).
// The default is 1; above 1 refreshes earlier, below 1 later, and 0 turns
// early refresh off. It panics if beta is negative, NaN or infinite.
func WithEarlyRefresh(beta float64) Option {
	if beta < 0 || math.IsNaN(beta) || math.IsInf(beta, 0) {
		panic("memo: early refresh beta must be finite and not negative")
	}
	return optionFunc(func(c *config) { c.beta = beta })
}

// WithStaleIfError keeps a value for d after its window ends: a call in
// that time runs fn, and when fn fails (an error, including the deadline of
// [WithCallTimeout]; not a panic) the call returns the expired value,
// marked stale, instead of the error. A caller whose own context ends still
// receives ctx.Err(). The failure never replaces the kept value. It panics
// if d is negative; zero, the default, serves nothing past the window.
func WithStaleIfError(d time.Duration) Option {
	if d < 0 {
		panic("memo: negative stale-if-error window")
	}
	return optionFunc(func(c *config) { c.stale = d })
}

// WithCallTimeout gives fn's context a deadline d after the call starts,
// refreshes included, as flight.WithCallTimeout does. It panics if d is
// negative; zero means no timeout.
func WithCallTimeout(d time.Duration) Option {
	if d < 0 {
		panic("memo: negative call timeout")
	}
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithPanicHandler sets the function that receives a panic from fn when no
// caller is left to receive it: every caller left before fn panicked, or fn
// panicked in a refresh, which no caller waits for. h runs on the goroutine
// that ran fn. Without a handler such a panic crashes the process, as an
// unrecovered panic in any goroutine does: a panic is never swallowed.
func WithPanicHandler(h func(*flight.PanicError)) Option {
	return optionFunc(func(c *config) { c.onPanic = h })
}
