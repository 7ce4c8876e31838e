package flight

import (
	"context"
	"sync"
	"time"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

// Group runs each key's function once at a time and shares its outcome with
// every caller that asks for that key while it runs.
//
// The zero value is ready to use, and behaves exactly like [New] with no
// options; its map is created on first use. A Group must not be copied after
// first use.
type Group[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]*call[V] // guarded by mu; created lazily
	cfg config         // read-only after New
	st  counters
}

// Result holds the outcome of a call, as delivered by [Group.DoChan]. Shared
// is true when more than one caller received it.
type Result[V any] struct {
	Val    V
	Err    error
	Shared bool
}

// New returns a Group configured by opts. With no options it behaves exactly
// like the zero Group.
func New[K comparable, V any](opts ...Option) *Group[K, V] {
	g := &Group[K, V]{}
	for _, o := range opts {
		o.apply(&g.cfg)
	}
	return g
}

// Do runs fn on the calling goroutine and returns its results, unless a call
// for key is already running: then Do waits for it and returns its results.
// shared reports whether more than one caller received them.
//
// If fn panics, every waiting Do and DoCtx caller panics with a *[PanicError]
// (the caller that ran fn included); if a [Group.DoChan] waiter is present the
// process crashes instead, as with x/sync, so that no channel is left
// unanswered. If fn calls [runtime.Goexit], the goroutine of every Do caller
// waiting for it exits too, as with x/sync, while DoCtx and DoChan waiters
// receive [ErrGoexit]. Do panics if fn is nil.
func (g *Group[K, V]) Do(key K, fn func() (V, error)) (v V, err error, shared bool) {
	if fn == nil {
		panic("flight: nil fn")
	}
	g.mu.Lock()
	if c := g.join(key); c != nil {
		retained := c.finished
		g.mu.Unlock()
		if retained {
			return c.val, c.err, true
		}
		c.wg.Wait()
		return c.outcome(true)
	}
	c := g.start(key, plainCall)
	g.mu.Unlock()

	g.doCall(c, key, true, fn, nil, nil)
	return c.val, c.err, c.shared
}

// DoChan is like [Group.Do] but runs fn on a new goroutine and returns a
// channel that receives the outcome. The channel has a buffer of one,
// receives exactly one [Result] and is never closed, so a caller that stops
// listening leaks nothing. If fn panics the process crashes, as with x/sync;
// if fn calls [runtime.Goexit] the channel receives [ErrGoexit]. DoChan panics
// if fn is nil.
func (g *Group[K, V]) DoChan(key K, fn func() (V, error)) <-chan Result[V] {
	if fn == nil {
		panic("flight: nil fn")
	}
	ch := make(chan Result[V], 1)
	g.mu.Lock()
	if c := g.join(key); c != nil {
		if c.finished {
			ch <- Result[V]{Val: c.val, Err: c.err, Shared: true}
		} else {
			x := c.ext()
			x.chans = append(x.chans, ch)
		}
		g.mu.Unlock()
		return ch
	}
	c := g.start(key, chanKind)
	c.x.chans = append(c.x.chans, ch)
	g.mu.Unlock()

	go g.doCall(c, key, false, fn, nil, nil)
	return ch
}

// DoCtx is like [Group.Do], but the caller waits only as long as ctx allows,
// and fn receives a context of its own.
//
// When ctx ends before the outcome, DoCtx returns at once with ctx.Err() and
// detaches; the call goes on for the other waiters. When the last waiter
// detaches, fn's context is cancelled with cause [ErrAbandoned] and the key
// is released, so the next caller starts a fresh execution (see
// [WithLinger] to delay this). If ctx is already done, DoCtx returns ctx.Err()
// without starting or joining anything.
//
// fn's context carries the values of the ctx that started the call for the
// whole run, is not cancelled by any single waiter, and has no deadline unless
// the group has [WithCallTimeout]. It is cancelled when fn returns, like a
// request's context when its handler returns (unless fn was given ctx
// itself, as described next). fn runs on a new goroutine, except when
// ctx can never end (ctx.Done() returns nil, as for [context.Background]):
// then DoCtx runs fn on the calling goroutine, exactly like Do, including
// its [runtime.Goexit] behaviour, and such a call is never abandoned since
// its starter never leaves. Without [WithCallTimeout] fn then receives ctx
// itself, which [Group.Cancel] cannot cancel.
//
// A panic in fn makes every waiting DoCtx caller panic with a *[PanicError].
// DoCtx panics if ctx or fn is nil.
func (g *Group[K, V]) DoCtx(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, err error, shared bool) {
	if ctx == nil {
		panic("flight: nil Context")
	}
	if fn == nil {
		panic("flight: nil fn")
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return v, ctx.Err(), false
		default:
		}
	}
	g.mu.Lock()
	c := g.join(key)
	if c != nil && c.finished {
		g.mu.Unlock()
		return c.val, c.err, true
	}
	if done == nil {
		// This caller can never detach, so it waits like a Do caller and,
		// when it starts the call, runs fn like one.
		if c != nil {
			g.mu.Unlock()
			c.wg.Wait()
			return c.outcome(false)
		}
		if len(g.cfg.ctxOpts) == 0 {
			// Nothing can ever cancel such a call (its starter never
			// leaves), so fn gets ctx itself: its values, no deadline.
			c = g.start(key, plainCall)
			g.mu.Unlock()
			g.doCall(c, key, true, nil, fn, ctx)
			return c.val, c.err, c.shared
		}
	}
	starter := c == nil
	if starter {
		c = g.start(key, ctxKind)
		c.hasCtx = true
		flightctx.Init(c.x.ctx, ctx, g.cfg.ctxOpts...)
		if done == nil {
			g.mu.Unlock()
			g.doCall(c, key, true, nil, fn, c.x.ctx)
			return c.val, c.err, c.shared
		}
	}
	x := c.ext()
	if x.done == nil {
		x.done = make(chan struct{})
	}
	cdone := x.done
	g.mu.Unlock()
	if starter {
		go g.doCall(c, key, false, nil, fn, c.x.ctx)
	}
	return g.wait(ctx, key, c, cdone)
}

// wait blocks a DoCtx waiter until the outcome or the end of ctx.
func (g *Group[K, V]) wait(ctx context.Context, key K, c *call[V], cdone <-chan struct{}) (v V, err error, shared bool) {
	select {
	case <-cdone:
		return c.outcome(false)
	case <-ctx.Done():
	}
	g.mu.Lock()
	if c.finished {
		// The outcome won the race with ctx; it is ours to take.
		g.mu.Unlock()
		return c.outcome(false)
	}
	g.leave(key, c)
	g.mu.Unlock()
	return v, ctx.Err(), false
}

// Forget tells the group to forget key: the next call for it starts a new
// execution, while callers already waiting on the current one still receive
// its outcome. Forget also evicts an outcome retained by a forget policy.
func (g *Group[K, V]) Forget(key K) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		g.evict(key, c)
	}
	g.mu.Unlock()
}

// ForgetUnshared forgets key, as [Group.Forget] does, only when no caller
// other than the one asking waits for its running call: when the call has at
// most one waiter, or its outcome is merely retained. It reports whether key
// is now forgotten (true also when the group held nothing for it).
func (g *Group[K, V]) ForgetUnshared(key K) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.m[key]
	if !ok {
		return true
	}
	if !c.finished && c.waiters > 1 {
		return false
	}
	g.evict(key, c)
	return true
}

// Cancel stops key's running call: it cancels the context that [Group.DoCtx]
// gave fn with cause (context.Canceled when cause is nil, as reported by
// [context.Cause]) and releases the key at once, so the next caller starts a
// fresh execution. The waiters already attached keep waiting and receive
// whatever fn then returns, typically its context's error; that outcome is
// never retained. Cancel reports whether it cancelled a context: it returns
// false when nothing runs for key, and for a call started by Do or DoChan,
// whose fn has no context to cancel (the key is released all the same, as by
// Forget), and for a DoCtx call started with a context that can never end
// in a group without [WithCallTimeout] (see [Group.DoCtx]). A retained
// outcome for key is evicted.
func (g *Group[K, V]) Cancel(key K, cause error) bool {
	g.mu.Lock()
	c, ok := g.m[key]
	if !ok {
		g.mu.Unlock()
		return false
	}
	g.evict(key, c)
	running := !c.finished && c.hasCtx
	c.cancelled = true
	g.mu.Unlock()
	if running {
		c.x.ctx.Cancel(cause)
	}
	return running
}

// evict removes key's entry c from the map, and stops the retention timer
// of a retained outcome so its memory goes at once. g.mu must be held.
func (g *Group[K, V]) evict(key K, c *call[V]) {
	delete(g.m, key)
	if c.expiry != nil {
		c.expiry.Stop()
	}
}

// join attaches the caller to key's running call and returns it, or returns
// nil when there is none to join. A finished call it returns is a retained
// outcome, which the caller takes without waiting. g.mu must be held.
func (g *Group[K, V]) join(key K) *call[V] {
	c, ok := g.m[key]
	if !ok {
		return nil
	}
	if c.finished {
		g.st.hits.Add(1)
		return c
	}
	// waiters is 0 only for a lingering abandoned call, which a newcomer
	// revives. Should the stopped timer's function already be waiting for
	// g.mu, it sees the waiter and does nothing.
	if c.waiters == 0 {
		c.x.stopLinger()
	}
	c.waiters++
	g.st.joins.Add(1)
	return c
}

// start registers a new call of the given kind for key with the caller as
// its one waiter. g.mu must be held.
func (g *Group[K, V]) start(key K, kind callKind) *call[V] {
	if g.m == nil {
		g.m = make(map[K]*call[V])
	}
	c := newCall[V](kind)
	c.waiters = 1
	c.wg.Add(1)
	g.m[key] = c
	g.st.started.Add(1)
	return c
}

// leave detaches one DoCtx waiter from an unfinished call, abandoning the
// call when it was the last. g.mu must be held.
func (g *Group[K, V]) leave(key K, c *call[V]) {
	c.waiters--
	if c.waiters > 0 {
		return
	}
	if g.cfg.linger <= 0 {
		g.abandon(key, c)
		return
	}
	c.x.lingerGen++
	gen := c.x.lingerGen
	c.x.linger = time.AfterFunc(g.cfg.linger, func() {
		g.mu.Lock()
		if c.waiters == 0 && !c.finished && c.x.lingerGen == gen {
			g.abandon(key, c)
		}
		g.mu.Unlock()
	})
}

// abandon cancels a call nobody waits for and releases its key in the same
// locked step, so that no later caller can join it. g.mu must be held.
func (g *Group[K, V]) abandon(key K, c *call[V]) {
	if g.m[key] == c {
		delete(g.m, key)
	}
	c.abandoned = true
	g.st.abandoned.Add(1)
	// Only DoCtx calls can lose every waiter, and those have a context.
	c.x.ctx.Release()
}
