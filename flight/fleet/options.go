package fleet

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

// Option configures a [Group] built by [New]. Options are not generic, so
// fleet.New[User](rdb, fleet.WithPrefix("users")) needs no type arguments
// on the option; [WithCodec] infers its own from the codec it is given.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the read-only configuration of a Group.
type config struct {
	prefix     string
	ttl        time.Duration // lease TTL; renewed every ttl/3
	opTimeout  time.Duration // bound of every Redis operation
	retryAfter time.Duration // local-only period after a Redis error
	failClosed bool
	maxPayload int
	codec      any             // a Codec[V], checked by New; nil: JSON
	errs       []namedError    // sorted by name
	flightOpts []flight.Option // for the Group in front

	callTimeout time.Duration            // also in flightOpts; for refreshes
	onPanic     func(*flight.PanicError) // also in flightOpts; for refreshes
	forget      forget.Policy            // retention windows; nil: none
	beta        float64                  // XFetch's beta; 0: no early refresh
	stale       time.Duration            // the stale-if-error window
	localCopies int                      // local copies kept at most (local.go)

	clock clock          // tests swap it (export_test.go)
	rand  func() float64 // uniform in [0, 1), for XFetch; tests swap it
}

type namedError struct {
	name string
	err  error
}

func defaultConfig() config {
	return config{
		prefix:     "fleet",
		ttl:        10 * time.Second,
		opTimeout:  250 * time.Millisecond,
		retryAfter: time.Second,
		maxPayload: 1 << 20,
		beta:       1,
		clock:      realClock{},
		rand:       rand.Float64,
	}
}

// WithPrefix sets the prefix of every Redis name the group uses (see the
// package documentation for the layout). Groups that share a Redis and a
// prefix coordinate; give unrelated groups different prefixes. The default
// is "fleet". It panics if p is empty or holds '{' or '}', which would
// break the Cluster hash tag.
func WithPrefix(p string) Option {
	if !validPrefix(p) {
		panic("fleet: prefix must be non-empty and hold no '{' or '}'")
	}
	return optionFunc(func(c *config) { c.prefix = p })
}

// WithLeaseTTL sets the lifetime of a leader's lease; the default is 10s.
// The leader renews it every d/3 while fn runs, so d bounds how long the
// fleet waits for a leader that crashed or lost Redis: a waiting follower
// takes over within d plus d/3. Use the same d in every process. It panics
// if d is below 3ms.
func WithLeaseTTL(d time.Duration) Option {
	if d < 3*time.Millisecond {
		panic("fleet: lease TTL below 3ms")
	}
	return optionFunc(func(c *config) { c.ttl = d })
}

// WithOpTimeout bounds every Redis operation of the group, and so the
// latency that a slow or unreachable Redis adds to a call; the default is
// 250ms. It panics if d is not positive.
//
// The bound holds whatever the client's own timeouts are, but go-redis
// itself stops waiting on the socket at the deadline only when the client
// was built with ContextTimeoutEnabled; without it, an operation that
// timed out finishes in the background within the client's ReadTimeout.
func WithOpTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("fleet: op timeout must be positive")
	}
	return optionFunc(func(c *config) { c.opTimeout = d })
}

// WithRetryAfter sets how long the group works without Redis after a Redis
// operation failed, before it tries Redis again; the default is one second.
// Meanwhile calls fall back to coalescing inside the process (or fail, with
// [WithFailClosed]) without waiting for Redis at all. It panics if d is not
// positive.
func WithRetryAfter(d time.Duration) Option {
	if d <= 0 {
		panic("fleet: retry interval must be positive")
	}
	return optionFunc(func(c *config) { c.retryAfter = d })
}

// WithFailClosed makes calls fail with an error matching [ErrUnavailable]
// when Redis cannot be used, instead of falling back to coalescing inside
// the process. Use it when running fn twice at once across the fleet is
// worse than failing (a payment, a non-idempotent job).
func WithFailClosed() Option {
	return optionFunc(func(c *config) { c.failClosed = true })
}

// WithMaxPayload sets the largest outcome frame, in bytes, that the group
// publishes or accepts; the default is 1 MiB. A larger outcome is not
// published: the processes waiting for it run fn themselves (a miss,
// counted in Stats.BadPayloads). It panics if n is below 64.
func WithMaxPayload(n int) Option {
	if n < 64 {
		panic("fleet: max payload below 64 bytes")
	}
	return optionFunc(func(c *config) { c.maxPayload = n })
}

// WithCodec sets how values cross processes; the default is [JSON]. V is
// inferred from c, and [New] panics if it is not the group's value type.
// It panics if c is nil.
func WithCodec[V any](c Codec[V]) Option {
	if c == nil {
		panic("fleet: nil codec")
	}
	return optionFunc(func(cfg *config) { cfg.codec = c })
}

// WithErrors registers sentinel errors under names, so that [errors.Is]
// works across processes (see [RemoteError]). Register the same names in
// every process. Later calls add to earlier ones. It panics on an empty
// name or a nil error.
func WithErrors(sentinels map[string]error) Option {
	named := make([]namedError, 0, len(sentinels))
	for name, err := range sentinels {
		if name == "" || err == nil {
			panic("fleet: WithErrors needs non-empty names and non-nil errors")
		}
		named = append(named, namedError{name, err})
	}
	return optionFunc(func(c *config) {
		c.errs = slices.DeleteFunc(c.errs, func(e namedError) bool {
			_, ok := sentinels[e.name]
			return ok
		})
		c.errs = append(c.errs, named...)
		slices.SortFunc(c.errs, func(a, b namedError) int { return cmp.Compare(a.name, b.name) })
	})
}

// WithCallTimeout gives fn's context a deadline d after the call starts in
// this process, as flight.WithCallTimeout does. A call that runs out of
// time publishes nothing: the lease is released at once. It panics if d is
// negative; zero means no timeout.
// An early refresh (see [WithEarlyRefresh]) gets the same deadline.
func WithCallTimeout(d time.Duration) Option {
	o := flight.WithCallTimeout(d)
	return optionFunc(func(c *config) {
		c.flightOpts = append(c.flightOpts, o)
		c.callTimeout = d
	})
}

// WithPanicHandler sets the function that receives a panic from fn when no
// caller is left to receive it: every caller in this process left before
// fn panicked, or fn panicked in an early refresh, which no caller waits
// for (see [WithEarlyRefresh]). h runs on the goroutine that ran fn.
// Without a handler such a panic crashes the process, as an unrecovered
// panic in any goroutine does: the group never swallows a panic. Either
// way the lease is released at once.
func WithPanicHandler(h func(*flight.PanicError)) Option {
	o := flight.WithPanicHandler(h)
	return optionFunc(func(c *config) {
		c.flightOpts = append(c.flightOpts, o)
		c.onPanic = h
	})
}

// WithForget keeps each outcome in Redis for the window p gives it, the
// same policies as flight.WithForget takes (package forget): a call that
// arrives within the window, in any process, receives the retained
// outcome with one round trip, shared == true, and fn is not called. The
// outcome is stored by the leader's finish, in the same atomic step that
// publishes it. An error is retained only when p keeps errors; context
// errors, flight.ErrAbandoned, panics and Goexit never are. Without this
// option, or with forget.Now(), nothing is retained: the outcome is
// shared only with the callers waiting for it.
//
// Near the end of a value's window, calls refresh it early, in the
// background (see [WithEarlyRefresh]); after the window, a call runs fn
// again. [WithStaleIfError] lets a failed call serve the expired value
// instead. The windows are judged with each process's clock, so the
// clocks of the fleet should agree to well within a window. A nil policy
// is the same as forget.Now().
func WithForget(p forget.Policy) Option {
	return optionFunc(func(c *config) { c.forget = p })
}

// WithEarlyRefresh sets the eagerness of early refresh, beta in XFetch
// (Vattani, Chierichetti and Lowenstein, VLDB 2015): a call that receives a
// retained outcome starts a refresh when
//
//	now - delta * beta * ln(rand()) >= expiry
//
// where delta is how long fn took to compute that outcome and rand() is
// uniform in (0, 1]. The closer the expiry, the longer fn takes and the
// more calls there are, the likelier one refreshes before the window ends,
// so that a hot key never expires. The default is 1, and it matters only
// with [WithForget]; above 1 refreshes earlier, below 1 later, and 0 turns
// early refresh off.
//
// A refresh runs fn in the background: the call that started it returns
// the retained outcome at once, and so does every call until the refresh
// finishes. It takes the lease like any leader, so at most one refresh (or
// call) runs for a key in the whole fleet; a refresh that finds the lease
// taken does nothing. fn's context carries the values of the context of
// the call that started it, no caller's cancellation, and the deadline of
// [WithCallTimeout]; [Group.Close] cancels it. A successful refresh
// replaces the retained outcome and starts a new window, in one atomic
// step fenced by the lease; a failed one leaves the retained outcome in
// place. A call that arrives after the expiry while a refresh still runs
// receives the expired value, marked stale, rather than wait. It panics if
// beta is negative, NaN or infinite.
func WithEarlyRefresh(beta float64) Option {
	if beta < 0 || math.IsNaN(beta) || math.IsInf(beta, 0) {
		panic("fleet: early refresh beta must be finite and not negative")
	}
	return optionFunc(func(c *config) { c.beta = beta })
}

// WithStaleIfError keeps a retained value for d after its window ends (the
// stale-if-error of RFC 5861). A call in that time runs fn, as after any
// window; when fn fails (an error, a panic excepted, including the
// deadline of [WithCallTimeout]), in this process or in the one that led
// the call, the call returns the expired value instead of the error,
// marked stale (see [Group.DoResult]). A caller whose own context ends
// still receives ctx.Err(). The failure never replaces the retained value,
// whatever the forget policy says about errors. It panics if d is
// negative; zero, the default, serves nothing past the window.
func WithStaleIfError(d time.Duration) Option {
	if d < 0 {
		panic("fleet: negative stale-if-error window")
	}
	return optionFunc(func(c *config) { c.stale = d })
}

// WithLocalCopies keeps up to n retained outcomes (see [WithForget]) in
// this process's memory too, each until its expiry, so that a call within
// the window is answered without a round trip to Redis; the calls it
// answers still draw early refreshes. A copy is dropped at its expiry or
// replaced by a newer outcome that this process receives; past the expiry
// calls go to Redis. Another process's refresh therefore reaches this
// process when its copy expires (or sooner, when a refresh drawn here
// finds it): every value served is still within its window. When n copies
// are held, further outcomes are not copied until some expire. It panics
// if n is negative; zero, the default, keeps no copy.
func WithLocalCopies(n int) Option {
	if n < 0 {
		panic("fleet: negative number of local copies")
	}
	return optionFunc(func(c *config) { c.localCopies = n })
}
