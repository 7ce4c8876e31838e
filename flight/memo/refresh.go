package memo

import (
	"context"
	"math"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// early reports whether a call at now that received e starts a refresh:
// now - delta*beta*ln(u) >= expiry, u uniform in (0, 1].
// Far from the expiry no draw can start one, and the hot path skips it.
func (c *Cache[K, V]) early(now time.Time, e *entry[V]) bool {
	if c.cfg.beta == 0 || e.delta <= 0 {
		return false
	}
	left := e.expiry.Sub(now)
	if float64(left) > float64(e.delta)*c.cfg.beta*maxDraw {
		return false
	}
	return xfetch(left, e.delta, c.cfg.beta, 1-c.cfg.rand())
}

// maxDraw bounds -ln(u) for every u that 1-rand() can be: the smallest is
// 2^-53, and -ln(2^-53) is 36.74.
const maxDraw = 37

// xfetch is the XFetch rule for an outcome that expires in left, computed
// in delta, with eagerness beta and a uniform draw u in (0, 1]: true with
// probability exp(-left / (delta*beta)).
func xfetch(left, delta time.Duration, beta, u float64) bool {
	return float64(left) <= -float64(delta)*beta*math.Log(u)
}

// refresh runs fn for key in the background, through the group that
// coalesces every run of fn, and keeps its outcome unless it failed. from
// is the context of the call that started it: fn keeps its values, not
// its cancellation; Close cancels it. The refresh waits for fn, so that
// no goroutine of it outlives Close.
func (c *Cache[K, V]) refresh(from context.Context, key K, e *entry[V], fn func(context.Context) (V, error)) {
	defer c.wg.Done()
	defer c.refreshed(key, e)
	defer c.refreshPanic()
	stoppable := func(ctx context.Context) (V, error) {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := context.AfterFunc(c.stop, func() { cancel(context.Cause(c.stop)) })
		defer stop()
		return fn(ctx)
	}
	// A context that never ends: this goroutine never leaves the call, so
	// it returns only once fn has.
	_, _, _ = c.calls.DoCtx(context.WithoutCancel(from), key, c.keeping(key, stoppable, true))
}

// refreshed ends the refresh of e: e is dropped if its life ended
// meanwhile.
func (c *Cache[K, V]) refreshed(key K, e *entry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refreshing = false
	life := e.expiry
	if e.err == nil {
		life = life.Add(c.cfg.stale)
	}
	if c.m[key] == e && !time.Now().Before(life) {
		e.timer.Stop()
		delete(c.m, key)
	}
}

// refreshPanic hands a panic of fn in a refresh to the panic handler, or
// crashes the process with it: nobody waits for a refresh.
func (c *Cache[K, V]) refreshPanic() {
	r := recover()
	if r == nil {
		return
	}
	pe, ok := r.(*flight.PanicError)
	if !ok {
		panic(r)
	}
	if h := c.cfg.onPanic; h != nil {
		h(pe)
		return
	}
	panic(pe)
}
