package flight

import (
	"context"
	"time"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// hedge is the state of a hedged DoCtx call (WithHedge). The group's mutex
// guards its fields; ctx is written once, before the backup starts.
type hedge[V any] struct {
	timer   *time.Timer                      // starts the backup; nil once fired or stopped
	fn      func(context.Context) (V, error) // for the backup; nil once it can no longer start
	ctx     callctx.Ctx                      // the backup's context, once started
	started bool
}

// armHedge sets the timer that starts b's backup execution. g.mu must be
// held.
func (g *Group[K, V]) armHedge(key K, b *ctxCall[K, V]) {
	h := &hedge[V]{fn: b.fn}
	b.c.rare().hedge = h
	h.timer = time.AfterFunc(g.cfg.hedge, func() { g.startHedge(key, b, h) })
}

// startHedge starts b's backup execution, unless the call no longer needs
// one: it has its outcome, no waiter (it lingers), or was cancelled or
// abandoned, or its deadline passed.
func (g *Group[K, V]) startHedge(key K, b *ctxCall[K, V], h *hedge[V]) {
	g.mu.Lock()
	c := &b.c
	fn := h.fn
	h.fn, h.timer = nil, nil
	if fn == nil || c.finished() || c.count() == 0 || !b.ctx.Live() {
		g.mu.Unlock()
		return
	}
	h.started = true
	h.ctx.InitLike(&b.ctx)
	g.mu.Unlock()
	g.st.started.Add(1)
	g.st.hedges.Add(1)
	go g.runHedge(key, c, h, fn)
}

// runHedge is the goroutine of a backup execution. Like the primary's, it
// does not call fn when the call was abandoned before it began, nor when the
// other execution's outcome came first.
func (g *Group[K, V]) runHedge(key K, c *call[V], h *hedge[V], fn func(context.Context) (V, error)) {
	if k, cause := h.ctx.Reason(); k == callctx.Abandoned || k == callctx.Cause && cause == ErrHedgeLost {
		if k == callctx.Abandoned {
			cause = ErrAbandoned
		}
		g.st.skipped.Add(1)
		g.finish(c, key, &h.ctx, false, &outcome[V]{err: cause})
		return
	}
	g.doCall(c, key, &h.ctx, false, nil, fn)
}

// stop prevents a backup from starting, and returns the backup's context
// if it started. g.mu must be held.
func (h *hedge[V]) stop() *callctx.Ctx {
	h.fn = nil
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	if h.started {
		return &h.ctx
	}
	return nil
}

// settle ends the hedge of c, whose outcome the execution with context own
// just published, and returns the other execution's context, to be
// cancelled with ErrHedgeLost (nil if no backup started). g.mu must be held.
func (h *hedge[V]) settle(c *call[V], own *callctx.Ctx) *callctx.Ctx {
	b := h.stop()
	switch {
	case b == nil:
		return nil
	case own == b:
		return c.x.ctx
	}
	return b
}
