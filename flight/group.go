package flight

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// Group runs each key's function once at a time and shares its outcome with
// every caller that asks for that key while it runs.
//
// The zero value is ready to use, and behaves exactly like [New] with no
// options; its map is created on first use. A Group must not be copied after
// first use.
//
// Every key works, or fails at once in its caller: a key whose dynamic type
// cannot be hashed (an interface K holding a slice, a map or a function)
// panics with a message that starts with "flight: unhashable key", before
// the group is touched, so other keys keep working; a key that is not equal
// to itself (a float NaN, or a value holding one) runs alone: fn runs for
// that caller only, unshared, and nothing is registered for it.
type Group[K comparable, V any] struct {
	mu   sync.Mutex
	m    map[K]*call[V] // guarded by mu; created lazily
	keys atomic.Uint32  // the class of K (keys.go); set on first use
	cfg  config         // read-only after New
	st   counters
}

// Result holds the outcome of a call, as delivered by [Group.DoChan] and
// [Group.DoChanCtx]. Shared is true when more than one caller received it.
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
// (the caller that ran fn included); if a channel waiter ([Group.DoChan],
// [Group.DoChanCtx]) is present the process crashes instead, as with x/sync,
// so that no channel is left unanswered. If fn calls [runtime.Goexit], the
// goroutine of every Do caller waiting for it exits too, as with x/sync,
// while DoCtx and channel waiters receive [ErrGoexit]. Do panics if fn is
// nil, and if key cannot be hashed (see [Group]).
func (g *Group[K, V]) Do(key K, fn func() (V, error)) (v V, err error, shared bool) {
	if fn == nil {
		panic("flight: nil fn")
	}
	alone := g.keys.Load() != keysPlain && g.alone(key)
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		return g.joinDo(c, true)
	}
	c := &call[V]{waiters: 1}
	g.insert(key, c, alone)
	g.mu.Unlock()
	g.st.started.Add(1)

	g.doCall(c, key, nil, true, fn, nil)
	return c.val, c.err, c.flags&fShared != 0
}

// joinDo makes the caller a waiter of c that never detaches, and returns the
// outcome; c may be a retained outcome. do is true for a Do caller, whose
// goroutine a Goexit in fn ends. g.mu must be held; joinDo unlocks it.
func (g *Group[K, V]) joinDo(c *call[V], do bool) (V, error, bool) {
	if c.finished() {
		g.mu.Unlock()
		g.st.hits.Add(1)
		return c.val, c.err, true
	}
	g.attach(c, false)
	if c.flags&fWG == 0 {
		c.flags |= fWG
		c.wg.Add(1)
	}
	g.mu.Unlock()
	g.st.joins.Add(1)
	c.wg.Wait()
	return c.outcome(do)
}

// DoChan is like [Group.Do] but runs fn on a new goroutine and returns a
// channel that receives the outcome. The channel has a buffer of one,
// receives exactly one [Result] and is never closed, so a caller that stops
// listening leaks nothing. If fn panics the process crashes, as with x/sync;
// if fn calls [runtime.Goexit] the channel receives [ErrGoexit]. DoChan panics
// if fn is nil, and if key cannot be hashed.
func (g *Group[K, V]) DoChan(key K, fn func() (V, error)) <-chan Result[V] {
	if fn == nil {
		panic("flight: nil fn")
	}
	ch := make(chan Result[V], 1)
	alone := g.keys.Load() != keysPlain && g.alone(key)
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		g.joinChan(c, ch)
		return ch
	}
	b := &chanCall[K, V]{g: g, key: key, fn: fn}
	b.c.waiters, b.c.x, b.x.ch = 1, &b.x, ch
	g.insert(key, &b.c, alone)
	g.mu.Unlock()
	g.st.started.Add(1)

	go b.run()
	return ch
}

// joinChan makes ch a waiter of c that never detaches, or answers it at once
// from a retained outcome. g.mu must be held; joinChan unlocks it.
func (g *Group[K, V]) joinChan(c *call[V], ch chan<- Result[V]) {
	if c.finished() {
		g.mu.Unlock()
		g.st.hits.Add(1)
		ch <- Result[V]{Val: c.val, Err: c.err, Shared: true}
		return
	}
	g.attach(c, false)
	g.addChan(c, ch)
	g.mu.Unlock()
	g.st.joins.Add(1)
}

// addChan registers the channel waiter ch with c. g.mu must be held.
func (g *Group[K, V]) addChan(c *call[V], ch chan<- Result[V]) {
	if x := c.ext(); x.ch == nil {
		x.ch = ch
	} else {
		a := c.rare()
		a.chans = append(a.chans, ch)
	}
}

// DoCtx is like [Group.Do], but the caller waits only as long as ctx allows,
// and fn receives a context of its own.
//
// When ctx ends before the outcome, DoCtx returns at once with ctx.Err() and
// detaches; the call goes on for the other waiters. When the last waiter
// detaches, fn's context is cancelled with cause [ErrAbandoned] and the key
// is released, so the next caller starts a fresh execution (see
// [WithLinger] to delay this); if that happens before fn has started, fn is
// not called at all. If ctx is already done, DoCtx returns ctx.Err() without
// starting or joining anything.
//
// fn's context carries the values of the ctx that started the call for the
// whole run, is not cancelled by any single waiter, and has no deadline unless
// the group has [WithCallTimeout]: without one, a call stuck in fn stays
// stuck, and every caller of its key joins it. fn's context is cancelled when
// fn returns, like a request's context when its handler returns (unless fn
// was given ctx itself, as described next). fn runs on a new goroutine,
// except when ctx can never end (ctx.Done() returns nil, as for
// [context.Background]) and the group has no [WithHedge]: then DoCtx runs fn
// on the calling goroutine, exactly like Do, including its [runtime.Goexit]
// behaviour, and such a call is never abandoned since its starter never
// leaves. Without [WithCallTimeout] fn then receives ctx itself, which
// [Group.Cancel] cannot cancel.
//
// A panic in fn makes every waiting DoCtx caller panic with a *[PanicError].
// DoCtx panics if ctx or fn is nil, and if key cannot be hashed.
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
	alone := g.keys.Load() != keysPlain && g.alone(key)
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		if done == nil || c.finished() {
			// This caller can never detach: it waits like a Do caller,
			// except that a Goexit in fn is ErrGoexit for it.
			return g.joinDo(c, false)
		}
		g.attach(c, true)
		wake, viaCtx := g.waitChan(c)
		g.mu.Unlock()
		g.st.joins.Add(1)
		return g.wait(ctx, key, c, wake, viaCtx)
	}
	if done == nil && g.cfg.timeout == 0 && g.cfg.hedge == 0 {
		// Nothing can ever cancel such a call (its starter never leaves),
		// so fn gets ctx itself on the caller's goroutine: its values, no
		// deadline.
		c := &call[V]{waiters: 1}
		g.insert(key, c, alone)
		g.mu.Unlock()
		g.st.started.Add(1)
		g.doCall(c, key, nil, true, func() (V, error) { return fn(ctx) }, nil)
		return c.val, c.err, c.flags&fShared != 0
	}
	b := g.startCtx(ctx, key, fn, alone, done != nil, done != nil)
	c := &b.c
	if done == nil {
		// The starter never leaves; with a call timeout fn runs here, with
		// the group's context. A hedged call runs on a goroutine, so that
		// the starter can take the first of two outcomes.
		if g.cfg.hedge == 0 {
			b.fn = nil
			g.mu.Unlock()
			g.st.started.Add(1)
			g.doCall(c, key, &b.ctx, true, nil, fn)
			return c.val, c.err, c.flags&fShared != 0
		}
		c.flags |= fWG
		c.wg.Add(1)
		g.mu.Unlock()
		g.st.started.Add(1)
		go b.run()
		c.wg.Wait()
		return c.outcome(false)
	}
	g.mu.Unlock()
	g.st.started.Add(1)
	go b.run()
	return g.wait(ctx, key, c, b.ctx.Done(), true)
}

// waitChan returns the channel on which a waiter that can detach waits for
// c's outcome, and whether it is the Done channel of fn's context, which is
// also closed by an early cancellation. g.mu must be held.
func (g *Group[K, V]) waitChan(c *call[V]) (wake <-chan struct{}, viaCtx bool) {
	x := c.x
	if x != nil && x.ctx != nil && (x.aux == nil || x.aux.wake == nil) && x.ctx.Kind() == callctx.Live {
		return x.ctx.Done(), true
	}
	a := c.rare()
	if a.wake == nil {
		a.wake = make(chan struct{})
	}
	return a.wake, false
}

// wait blocks a waiter that can detach until c's outcome or the end of ctx.
func (g *Group[K, V]) wait(ctx context.Context, key K, c *call[V], wake <-chan struct{}, viaCtx bool) (v V, err error, shared bool) {
	for {
		select {
		case <-wake:
			if !viaCtx || c.x.ctx.Kind() == callctx.Finished {
				return c.outcome(false)
			}
			// fn's context was cancelled before the outcome (Cancel, its
			// deadline, a hedge): wait for the outcome itself.
			g.mu.Lock()
			if c.finished() {
				g.mu.Unlock()
				return c.outcome(false)
			}
			wake, viaCtx = g.waitChan(c)
			g.mu.Unlock()
		case <-ctx.Done():
			if !g.detach(key, c) {
				// The outcome won the race with ctx; it is ours to take.
				return c.outcome(false)
			}
			return v, ctx.Err(), false
		}
	}
}

// Forget tells the group to forget key: the next call for it starts a new
// execution, while callers already waiting on the current one still receive
// its outcome. Forget also evicts an outcome retained by a forget policy. A
// forgotten call whose waiters have all detached is cancelled at once, linger
// or not: nobody can join it any more. Forget panics if key cannot be hashed.
func (g *Group[K, V]) Forget(key K) {
	if g.keys.Load() != keysPlain {
		g.alone(key)
	}
	g.mu.Lock()
	var f firing
	if c, ok := g.m[key]; ok {
		f = g.evict(key, c)
	}
	g.mu.Unlock()
	f.fire()
}

// ForgetUnshared forgets key, as [Group.Forget] does, only when no caller
// other than the one asking waits for its running call: when the call has at
// most one waiter, or its outcome is merely retained. It reports whether key
// is now forgotten (true also when the group held nothing for it).
func (g *Group[K, V]) ForgetUnshared(key K) bool {
	if g.keys.Load() != keysPlain {
		g.alone(key)
	}
	g.mu.Lock()
	c, ok := g.m[key]
	if !ok {
		g.mu.Unlock()
		return true
	}
	if !c.finished() && c.count() > 1 {
		g.mu.Unlock()
		return false
	}
	f := g.evict(key, c)
	g.mu.Unlock()
	f.fire()
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
// in a group without [WithCallTimeout] or [WithHedge] (see [Group.DoCtx]),
// whose fn runs on its caller's goroutine with that context. A retained
// outcome for key is evicted. A hedged call's two executions are both
// cancelled, and no backup starts afterwards.
func (g *Group[K, V]) Cancel(key K, cause error) bool {
	if g.keys.Load() != keysPlain {
		g.alone(key)
	}
	g.mu.Lock()
	c, ok := g.m[key]
	if !ok {
		g.mu.Unlock()
		return false
	}
	if c.finished() {
		g.evict(key, c) // a retained outcome
		g.mu.Unlock()
		return false
	}
	delete(g.m, key)
	c.mapped = false
	c.stopTimer() // a linger: Cancel, not abandonment, ends this call
	var f firing
	running := c.cancellable()
	if running {
		kind := callctx.Cause
		if cause == nil {
			kind = callctx.Canceled
		}
		f = g.mark(c, kind, cause)
	}
	g.mu.Unlock()
	f.fire()
	return running
}

// evict removes key's entry c from the map. A retained outcome's timer is
// stopped so its memory goes at once; a call that lingers with no waiter is
// abandoned, since nobody can join it any more (the returned firing cancels
// it). g.mu must be held.
func (g *Group[K, V]) evict(key K, c *call[V]) (f firing) {
	delete(g.m, key)
	c.mapped = false
	if c.finished() {
		c.stopTimer()
		return f
	}
	if c.count() == 0 {
		return g.abandon(key, c) // it lingers
	}
	return f
}

// insert registers c, a new call with its starter as the one waiter, under
// key, unless the key runs alone. g.mu must be held.
func (g *Group[K, V]) insert(key K, c *call[V], alone bool) {
	if alone {
		return
	}
	if g.m == nil {
		g.m = make(map[K]*call[V])
	}
	g.m[key] = c
	c.mapped = true
}

// attach adds a waiter to c, a running call, reviving it if it lingers;
// leaver tells whether the waiter can detach.
// g.mu must be held. The caller counts the join in Stats once it has
// unlocked, to keep the critical section short.
func (g *Group[K, V]) attach(c *call[V], leaver bool) {
	if c.count() == 0 {
		// A lingering call, which the newcomer revives. Should the stopped
		// timer's function already be waiting for g.mu, it sees that the
		// timer is no longer the call's and does nothing.
		c.stopTimer()
	}
	if leaver {
		c.flags |= fLeavers
	}
	if c.flags&fLeavers != 0 {
		atomic.AddUint32(&c.waiters, 1)
	} else {
		c.waiters++
	}
}
