package flight

import (
	"time"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// How a call's context is cancelled. Every decision is taken under the
// group's mutex (Mark: O(1)), and the work it implies (closing Done,
// cancelling fn's child contexts, of which there may be many) is done after
// unlocking (Fire), so that cancelling a large context tree never blocks
// callers of other keys (issue 10, item 8).

// firing holds the contexts marked for cancellation under the group's mutex,
// to be fired once it is unlocked.
type firing struct{ a, b *callctx.Ctx }

func (f firing) fire() {
	if f.a != nil {
		f.a.Fire()
	}
	if f.b != nil {
		f.b.Fire()
	}
}

// mark marks the contexts of c's executions for cancellation with kind and
// cause, and stops a pending hedge. c must be a call with a context (fCtx).
// g.mu must be held.
func (g *Group[K, V]) mark(c *call[V], kind callctx.Kind, cause error) firing {
	f := firing{a: c.x.ctx}
	c.x.ctx.Mark(kind, cause)
	if a := c.x.aux; a != nil && a.hedge != nil {
		if b := a.hedge.stop(); b != nil {
			b.Mark(kind, cause)
			f.b = b
		}
	}
	return f
}

// leave detaches one waiter from an unfinished call, abandoning the call
// when it was the last, unless it lingers. A call that Forget or Cancel
// released never lingers: nobody could join it. g.mu must be held; the
// returned firing must be fired after unlocking it.
func (g *Group[K, V]) leave(key K, c *call[V]) firing {
	c.waiters--
	if c.waiters > 0 {
		return firing{}
	}
	if g.cfg.linger > 0 && c.mapped {
		g.linger(key, c)
		return firing{}
	}
	return g.abandon(key, c)
}

// linger delays the abandonment of c, whose last waiter just left, by the
// group's linger. A caller that joins in the meantime stops the timer (see
// attach). g.mu must be held.
func (g *Group[K, V]) linger(key K, c *call[V]) {
	a := c.rare()
	var t *time.Timer
	// t is written under g.mu, and the function reads it under g.mu.
	t = time.AfterFunc(g.cfg.linger, func() {
		g.mu.Lock()
		var f firing
		if a.timer == t && c.waiters == 0 && !c.finished() {
			a.timer = nil
			f = g.abandon(key, c)
		}
		g.mu.Unlock()
		f.fire()
	})
	a.timer = t
}

// abandon releases the key of c, a call nobody waits for, in the same locked
// step that marks its context cancelled with ErrAbandoned, so that no later
// caller can join it. Only calls with a context lose every waiter: the
// others have one that never leaves. g.mu must be held; the returned firing
// must be fired after unlocking it.
func (g *Group[K, V]) abandon(key K, c *call[V]) firing {
	if c.mapped {
		delete(g.m, key)
		c.mapped = false
	}
	c.flags |= fAbandoned
	g.st.abandoned.Add(1)
	if a := c.x.aux; a != nil && a.timer != nil { // a linger that Forget cut short
		a.timer.Stop()
		a.timer = nil
	}
	return g.mark(c, callctx.Abandoned, nil)
}
