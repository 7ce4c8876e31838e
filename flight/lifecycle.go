package flight

import (
	"sync/atomic"
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
// cause, and stops a pending hedge. c must be cancellable.
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

// detach detaches a waiter whose context ended from c, and reports whether
// it did: false means that c's outcome was published first, counting the
// waiter, which must then take it. A waiter that is not the last leaves
// without the group's mutex: many waiters whose contexts end together
// (a client timing out) do not queue on it.
func (g *Group[K, V]) detach(key K, c *call[V]) bool {
	for {
		w := atomic.LoadUint32(&c.waiters)
		switch {
		case w&wFinished != 0:
			return false
		case w > 1:
			if atomic.CompareAndSwapUint32(&c.waiters, w, w-1) {
				return true
			}
			continue
		}
		break // perhaps the last: decide under the lock
	}
	g.mu.Lock()
	if c.finished() {
		g.mu.Unlock()
		return false
	}
	f := g.leave(key, c)
	g.mu.Unlock()
	f.fire()
	return true
}

// leave detaches one waiter from an unfinished call, abandoning the call
// when it was the last, unless it lingers. A call that Forget or Cancel
// released never lingers: nobody could join it. g.mu must be held; the
// returned firing must be fired after unlocking it.
func (g *Group[K, V]) leave(key K, c *call[V]) firing {
	// Other waiters may leave at the same time without the lock, but
	// never the last one: only under the lock does the count reach 0.
	if atomic.AddUint32(&c.waiters, ^uint32(0)) > 0 {
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
		if a.timer == t && c.count() == 0 && !c.finished() {
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
	g.st.abandoned.Add(1)
	c.stopTimer() // a linger that Forget cut short
	return g.mark(c, callctx.Abandoned, nil)
}
