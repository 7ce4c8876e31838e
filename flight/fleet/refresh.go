package fleet

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/internal/panics"
)

// Early refresh (XFetch): a call that receives a retained outcome near its
// expiry starts a refresh in the background, with the probability of
// Vattani, Chierichetti and Lowenstein's rule (early). The refresh takes
// the lease with a token of its own ("r..."), so at most one refresh or
// call runs per key in the fleet, and acquire tells callers that arrive
// after the expiry that a refresh holds it (they are then served the
// expired value instead of waiting). It runs fn under the lease like any
// leader (lead): renewed, fenced, finished with one script that replaces
// the retained outcome and publishes it; a failure is published to any
// follower but never retained over the value (keepOld). Inside a process
// at most one refresh runs per key, and Close cancels and waits for them.

// early reports whether a call at now that received an outcome stamped st
// starts a refresh: now - delta*beta*ln(u) >= expiry, u uniform in (0, 1].
func (c *core) early(now time.Time, st stamp) bool {
	if c.cfg.beta == 0 || st.expiry.IsZero() || st.delta <= 0 {
		return false
	}
	return xfetch(st.expiry.Sub(now), st.delta, c.cfg.beta, 1-c.cfg.rand())
}

// xfetch is the XFetch rule for an outcome that expires in left, computed
// in delta, with eagerness beta and a uniform draw u in (0, 1]. Refreshes
// happen with probability exp(-left / (delta*beta)).
func xfetch(left, delta time.Duration, beta, u float64) bool {
	return float64(left) <= -float64(delta)*beta*math.Log(u)
}

// refreshes are the early refreshes running in this process.
type refreshes struct {
	stop   context.Context // cancelled by Close
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	keys   map[string]struct{} // keys being refreshed; guarded by mu
	closed bool                // guarded by mu
	wg     sync.WaitGroup      // Add under mu while !closed
}

func (rf *refreshes) init() {
	rf.stop, rf.cancel = context.WithCancelCause(context.Background())
	rf.keys = make(map[string]struct{})
}

// begin reports whether a refresh of key may start, and registers it.
func (rf *refreshes) begin(key string) bool {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if _, ok := rf.keys[key]; ok || rf.closed {
		return false
	}
	rf.keys[key] = struct{}{}
	rf.wg.Add(1)
	return true
}

func (rf *refreshes) end(key string) {
	rf.mu.Lock()
	delete(rf.keys, key)
	rf.mu.Unlock()
	rf.wg.Done()
}

// close cancels the running refreshes and refuses new ones.
func (rf *refreshes) close() {
	rf.mu.Lock()
	rf.closed = true
	rf.mu.Unlock()
	rf.cancel(ErrClosed)
}

func (rf *refreshes) wait() { rf.wg.Wait() }

// startRefresh refreshes key in the background, unless this process
// refreshes it already; skip names the retained outcome to replace
// (headerSkip). ctx is the context of the call that found it: the refresh
// keeps its values.
func (g *Group[V]) startRefresh(ctx context.Context, key string, n flightNames, skip string,
	fn func(context.Context) (V, error)) {
	if !g.rf.begin(key) {
		return
	}
	rctx, cancel := g.refreshContext(ctx)
	go func() {
		ran := false
		defer func() {
			// The hook fires once the key is no longer registered, so that
			// a call after it may draw the next refresh.
			g.rf.end(key)
			if ran {
				g.hook(evRefreshed, key)
			}
		}()
		defer cancel()
		defer g.refreshPanic()
		ran = g.refresh(rctx, key, n, skip, fn)
	}()
}

// refreshContext returns the context of a refresh started by a call under
// ctx: ctx's values, no caller's cancellation, the call timeout, and
// cancelled by Close.
func (g *Group[V]) refreshContext(ctx context.Context) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	stop := context.AfterFunc(g.rf.stop, func() { cancel(context.Cause(g.rf.stop)) })
	tctx, tcancel := rctx, context.CancelFunc(func() {})
	if d := g.cfg.callTimeout; d > 0 {
		tctx, tcancel = context.WithTimeout(rctx, d)
	}
	return tctx, func() {
		tcancel()
		stop()
		cancel(nil)
	}
}

// refreshPanic hands a panic of fn in a refresh to the panic handler, or
// crashes the process with it: nobody waits for a refresh, and a panic is
// never swallowed. The lease is released by then (lead).
func (g *Group[V]) refreshPanic() {
	r := recover()
	if r == nil {
		return
	}
	pe := &flight.PanicError{Value: r, Stack: panics.Stack()}
	if h := g.cfg.onPanic; h != nil {
		h(pe)
		return
	}
	panic(pe)
}

// refresh takes key's lease, unless the retained outcome skip names was
// replaced since or another caller holds the lease, and leads: the new
// outcome replaces it. Nobody receives what lead returns; a local copy
// keeps it, or the newer outcome found. It reports whether fn ran.
func (g *Group[V]) refresh(ctx context.Context, key string, n flightNames, skip string,
	fn func(context.Context) (V, error)) bool {
	if !g.usable() {
		return false
	}
	tok := newRefreshToken()
	a, err := g.acquire(ctx, n, tok, skip)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			g.failed(err)
		}
		return false
	case a.retained:
		if kind, r, err := g.decode(a.frame); kind == kindValue || kind == kindError {
			g.copies.put(&g.core, key, r, err)
		}
		return false
	case !a.lead:
		return false
	}
	g.st.refreshes.Add(1)
	g.hook(evRefresh, key)
	r, err := g.lead(ctx, key, n, tok, fn, leadOpts{keepOld: true})
	g.copies.put(&g.core, key, r, err)
	return true
}
