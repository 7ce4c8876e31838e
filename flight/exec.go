package flight

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight/internal/callctx"
)

// doCall runs fn, or fnCtx with own, for c and publishes the outcome. inline
// is true when the goroutine running doCall belongs to a waiter (the starter
// of Do, or of DoCtx with a context that cannot end), false on a goroutine of
// its own. own is the execution's context when the group made one.
func (g *Group[K, V]) doCall(c *call[V], key K, own *callctx.Ctx, inline bool,
	fn func() (V, error), fnCtx func(context.Context) (V, error)) {
	var o outcome[V]
	normalReturn := false
	recovered := false

	// A double defer tells a panic from runtime.Goexit: recover stops a
	// panic but not a Goexit, so only after a Goexit is the inner function
	// left without either flag set (x/sync, https://golang.org/cl/134395).
	defer func() {
		if !normalReturn && !recovered {
			o.goexit = true
		}
		g.finish(c, key, own, inline, &o)
	}()

	func() {
		defer func() {
			if !normalReturn {
				// The stack must be taken here, before recover unwinds it,
				// although a Goexit also passes through (with r == nil).
				if r := recover(); r != nil {
					o.panic = newPanicError(r)
				}
			}
		}()
		if fnCtx != nil {
			o.val, o.err = fnCtx(own)
		} else {
			o.val, o.err = fn()
		}
		normalReturn = true
	}()
	if !normalReturn {
		recovered = true
	}
}

// finish publishes the outcome o of one execution of c to its waiters and
// releases the key. It runs in doCall's deferred function, so a panic it
// raises propagates from the goroutine that ran fn. own is the execution's
// context, if the group made one: cancelling it once the outcome is
// published both ends whatever fn started with it and wakes the waiters
// that wait on its Done channel.
func (g *Group[K, V]) finish(c *call[V], key K, own *callctx.Ctx, inline bool, o *outcome[V]) {
	keep := g.window(o) // asks the policy before taking the lock
	g.mu.Lock()
	if c.finished() {
		// The slower execution of a hedged call: nobody waits for it.
		g.mu.Unlock()
		g.st.finished.Add(1)
		if o.panic != nil {
			g.st.panics.Add(1)
			g.orphanPanic(o.panic)
		}
		return
	}
	c.val, c.err = o.val, o.err
	fl := uint16(fFinished)
	if o.panic != nil {
		c.err, fl = o.panic, fl|fPanic
	}
	if o.goexit {
		fl |= fGoexit
	}
	var waiters uint32
	if c.flags&fLeavers == 0 {
		waiters = c.waiters
		if waiters > 1 {
			fl |= fShared
		}
		c.flags |= fl
	} else {
		// Waiters may leave without the lock meanwhile: the outcome,
		// shared included, is complete before wFinished is set, and from
		// then on a waiter that leaves sees that it was counted and takes
		// the outcome instead.
		for flags := c.flags; ; {
			waiters = atomic.LoadUint32(&c.waiters)
			c.flags = flags | fl
			if waiters > 1 {
				c.flags |= fShared
			}
			if atomic.CompareAndSwapUint32(&c.waiters, waiters, waiters|wFinished) {
				break
			}
		}
	}
	var a *aux[V]
	var ch chan<- Result[V]
	if x := c.x; x != nil {
		ch, a = x.ch, x.aux
	}
	c.stopTimer()          // a pending linger
	var other *callctx.Ctx // the other execution of a hedged call
	if a != nil {
		if h := a.hedge; h != nil {
			other = h.settle(c, own)
			if own == &h.ctx {
				g.st.hedgeWins.Add(1)
			}
		}
		for _, w := range a.ctxChans {
			w.answered = true
		}
	}
	if c.mapped {
		if keep > 0 && waiters > 0 {
			c.rare().timer = time.AfterFunc(keep, func() { g.expire(key, c) })
		} else {
			delete(g.m, key)
			c.mapped = false
		}
	}
	g.mu.Unlock()
	// Nothing below writes c, and no other goroutine writes it once
	// fFinished is set but for a retained outcome's timer (aux.timer), which
	// is not read here.

	g.st.finished.Add(1)
	if other != nil {
		// Before the waiters are woken, so that none of them sees the
		// slower execution still running.
		other.Cancel(callctx.Cause, ErrHedgeLost)
	}
	if own != nil {
		own.Cancel(callctx.Finished, nil)
	}
	chans := ch != nil || a != nil && (len(a.chans) > 0 || len(a.ctxChans) > 0)

	if pe := o.panic; pe != nil {
		g.st.panics.Add(1)
		if chans {
			// A channel receiver cannot be made to panic, and leaving its
			// channel unanswered would hang it: crash, as x/sync does, in a
			// goroutine of its own so that nothing can recover the panic.
			go panic(pe)
			select {} // keep this goroutine in the crash dump
		}
		c.release(a)
		switch {
		case inline:
			panic(pe) // the waiter running fn receives it like the others
		case waiters > 0:
			// Every waiter re-panics on its own goroutine.
		default:
			g.orphanPanic(pe)
		}
		return
	}
	c.release(a)
	if chans {
		r := c.result()
		if ch != nil {
			ch <- r
		}
		if a != nil {
			for _, ch := range a.chans {
				ch <- r
			}
			for _, w := range a.ctxChans {
				if w.stop != nil {
					w.stop()
				}
				w.ch <- r
			}
		}
	}
}

// release wakes the waiters that block on wg or on aux's wake channel.
func (c *call[V]) release(a *aux[V]) {
	if c.flags&fWG != 0 {
		c.wg.Done()
	}
	if a != nil && a.wake != nil {
		close(a.wake)
	}
}

// orphanPanic hands a panic that no waiter is left to receive to the
// group's handler, or crashes the process: a panic is never swallowed.
func (g *Group[K, V]) orphanPanic(pe *PanicError) {
	if g.cfg.onPanic != nil {
		g.cfg.onPanic(pe)
		return
	}
	panic(pe)
}

// window returns how long an outcome may be retained. It is zero without a
// policy and for every outcome that must never be shared after the fact:
// panics, Goexit, and context errors, which belong to one caller.
func (g *Group[K, V]) window(o *outcome[V]) time.Duration {
	p := g.cfg.forget
	if p == nil || o.panic != nil || o.goexit {
		return 0
	}
	if err := o.err; err != nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAbandoned) ||
		errors.Is(err, ErrHedgeLost)) {
		return 0
	}
	return p.Retain(o.err)
}

// expire ends c's retention window.
func (g *Group[K, V]) expire(key K, c *call[V]) {
	g.mu.Lock()
	if c.mapped {
		delete(g.m, key)
		c.mapped = false
	}
	g.mu.Unlock()
}
