package memo

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/internal/keys"
)

// ErrClosed is returned by [Cache.Do] once [Cache.Close] was called.
var ErrClosed = errors.New("memo: cache closed")

// Cache keeps each key's outcome for the window its policy gives it, and
// refreshes it early, in the background (see the package documentation).
//
// Build it with [New]; the zero value is not usable. A Cache is safe for
// concurrent use and must not be copied. Close it when done.
type Cache[K comparable, V any] struct {
	policy forget.Policy
	cfg    config
	calls  *flight.Group[K, V] // coalesces the runs of fn, refreshes included
	check  bool                // K can hold NaN or an unhashable value: check each key (see alone)

	stop   context.Context // cancelled by Close
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // refreshes; Add under mu while !closed

	mu     sync.Mutex
	m      map[K]*entry[V] // kept outcomes; guarded by mu
	closed bool            // guarded by mu
}

// entry is one kept outcome. Its fields are written once before it is
// published in Cache.m, except refreshing, guarded by Cache.mu.
type entry[V any] struct {
	val        V
	err        error
	stored     time.Time
	expiry     time.Time
	delta      time.Duration // how long fn took
	timer      *time.Timer   // drops the entry when it may no longer be served
	refreshing bool
}

// Result is what [Cache.DoResult] returns: the outcome, as [Cache.Do]
// returns it, and how old it is.
type Result[V any] struct {
	Val    V
	Err    error
	Shared bool
	// Age is how long ago a kept outcome was computed; zero when it was
	// computed for this call.
	Age time.Duration
	// Stale reports a value served after its window ended: because the
	// call that should have replaced it failed ([WithStaleIfError]; Err is
	// then nil), or because a refresh still runs.
	Stale bool
}

// New returns a Cache that keeps outcomes for the windows p gives them
// (the same policies as flight.WithForget; forget.Split(d, 0) keeps values
// for d and retries errors), configured by opts. A nil p keeps nothing.
func New[K comparable, V any](p forget.Policy, opts ...Option) *Cache[K, V] {
	c := &Cache[K, V]{policy: p, cfg: defaultConfig(), m: make(map[K]*entry[V]),
		check: keys.Checked(reflect.TypeFor[K]())}
	for _, o := range opts {
		o.apply(&c.cfg)
	}
	var fo []flight.Option
	if c.cfg.timeout > 0 {
		fo = append(fo, flight.WithCallTimeout(c.cfg.timeout))
	}
	if c.cfg.onPanic != nil {
		fo = append(fo, flight.WithPanicHandler(c.cfg.onPanic))
	}
	c.calls = flight.New[K, V](fo...)
	c.stop, c.cancel = context.WithCancelCause(context.Background())
	return c
}

// Do returns key's kept outcome when it is within its window, and
// otherwise runs fn, coalesced with the other callers of key, and keeps
// its outcome as the policy says; shared reports whether more than one
// caller received it. Near the end of the window a call may also start a
// refresh in the background ([WithEarlyRefresh]), and after it an expired
// value may be returned instead of a failure ([WithStaleIfError]).
//
// The caller waits only as long as ctx allows: when ctx ends first, Do
// returns ctx.Err() and the call goes on for the others, as with
// flight.Group.DoCtx, whose semantics fn's context and panics follow. Do
// panics if ctx or fn is nil; after [Cache.Close] it returns [ErrClosed].
//
// Do panics, before it does anything, if key cannot be hashed (an interface
// key holding a slice, say). A key that is not equal to itself (a NaN) runs
// fn for its caller alone, as flight.Group does, and is never kept.
func (c *Cache[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, err error, shared bool) {
	r := c.do(ctx, key, fn)
	return r.Val, r.Err, r.Shared
}

// DoResult is [Cache.Do] for callers that need to know how old the
// outcome is, for example to send HTTP's Age and Warning headers.
func (c *Cache[K, V]) DoResult(ctx context.Context, key K, fn func(context.Context) (V, error)) Result[V] {
	return c.do(ctx, key, fn)
}

func (c *Cache[K, V]) do(ctx context.Context, key K, fn func(context.Context) (V, error)) Result[V] {
	if ctx == nil {
		panic("memo: nil Context")
	}
	if fn == nil {
		panic("memo: nil fn")
	}
	alone := c.alone(key)
	if err := ctx.Err(); err != nil {
		return Result[V]{Err: err}
	}
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Result[V]{Err: ErrClosed}
	}
	if alone {
		c.mu.Unlock()
		v, err, shared := c.calls.DoCtx(ctx, key, fn)
		return Result[V]{Val: v, Err: err, Shared: shared}
	}
	e := c.m[key]
	if e != nil && now.Before(e.expiry) {
		start := !e.refreshing && c.early(now, e)
		if start {
			e.refreshing = true
			c.wg.Add(1)
		}
		c.mu.Unlock()
		if start {
			go c.refresh(ctx, key, e, fn)
		}
		return e.result(now, false)
	}
	var old *entry[V] // an expired value that may still be served
	if e != nil && e.err == nil {
		if e.refreshing {
			// The refresh began before the expiry; nobody waits for it.
			c.mu.Unlock()
			return e.result(now, true)
		}
		if now.Before(e.expiry.Add(c.cfg.stale)) {
			old = e
		}
	}
	c.mu.Unlock()
	v, err, shared := c.calls.DoCtx(ctx, key, c.keeping(key, fn, old != nil))
	if err != nil && old != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
		return old.result(time.Now(), true) // stale-if-error
	}
	return Result[V]{Val: v, Err: err, Shared: shared}
}

// result returns e as the answer to a call at now.
func (e *entry[V]) result(now time.Time, stale bool) Result[V] {
	return Result[V]{Val: e.val, Err: e.err, Shared: true, Age: now.Sub(e.stored), Stale: stale}
}

// keeping wraps fn so that its outcome is kept; keepOld keeps an error
// from replacing a value that may still be served.
func (c *Cache[K, V]) keeping(key K, fn func(context.Context) (V, error), keepOld bool) func(context.Context) (V, error) {
	return func(ctx context.Context) (V, error) {
		start := time.Now()
		v, err := fn(ctx)
		c.keep(key, v, err, time.Since(start), keepOld)
		return v, err
	}
}

// keep stores fn's outcome for the window the policy gives it.
func (c *Cache[K, V]) keep(key K, v V, err error, delta time.Duration, keepOld bool) {
	if c.policy == nil || contextError(err) || (err != nil && keepOld) {
		return
	}
	w := c.policy.Retain(err)
	if w <= 0 {
		return
	}
	now := time.Now()
	e := &entry[V]{val: v, err: err, stored: now, expiry: now.Add(w), delta: delta}
	life := w
	if err == nil {
		life += c.cfg.stale
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if old := c.m[key]; old != nil {
		old.timer.Stop()
	}
	c.m[key] = e
	e.timer = time.AfterFunc(life, func() { c.drop(key, e) })
}

// drop removes e at the end of its life, unless a refresh of it still
// runs (the refresh drops it then).
func (c *Cache[K, V]) drop(key K, e *entry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key] == e && !e.refreshing {
		delete(c.m, key)
	}
}

// Forget drops key's kept outcome, so that the next call runs fn. A call
// of fn already running is not affected. It does not block. It panics if
// key cannot be hashed, as Do does.
func (c *Cache[K, V]) Forget(key K) {
	if c.alone(key) {
		return // never kept
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil {
		e.timer.Stop()
		delete(c.m, key)
	}
}

// Close drops every kept outcome, cancels the running refreshes (their
// context's cause is [ErrClosed]) and waits for them to end. Later calls
// to Do return ErrClosed. It is safe to call more than once.
func (c *Cache[K, V]) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for k, e := range c.m {
		e.timer.Stop()
		delete(c.m, k)
	}
	c.mu.Unlock()
	c.cancel(ErrClosed)
	c.wg.Wait()
}

// alone reports whether key is not equal to itself (a NaN): such a key is
// never found in a map again once stored, so it is never kept. It panics in
// the caller, before the cache's lock is taken, when key cannot be hashed:
// the panic would otherwise leave the lock held and jam every key.
func (c *Cache[K, V]) alone(key K) bool {
	return c.check && !keys.SelfEqual(key, "memo")
}

// contextError reports the errors that belong to the callers of one call
// and are never kept.
func contextError(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, flight.ErrAbandoned))
}
