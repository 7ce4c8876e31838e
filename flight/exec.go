package flight

import (
	"context"
	"errors"
	"time"
)

// doCall runs fn, or fnCtx with ctx, for c and publishes the outcome. inline
// is true when the goroutine running doCall belongs to a waiter (the starter
// of Do, or of DoCtx with a context that cannot end), false on a goroutine of
// its own.
func (g *Group[K, V]) doCall(c *call[V], key K, inline bool,
	fn func() (V, error), fnCtx func(context.Context) (V, error), ctx context.Context) {
	normalReturn := false
	recovered := false

	// A double defer tells a panic from runtime.Goexit: recover stops a
	// panic but not a Goexit, so only after a Goexit is the inner function
	// left without either flag set (x/sync, https://golang.org/cl/134395).
	defer func() {
		if !normalReturn && !recovered {
			c.goexit = true
		}
		g.finish(c, key, inline)
	}()

	func() {
		defer func() {
			if !normalReturn {
				// The stack must be taken here, before recover unwinds it,
				// although a Goexit also passes through (with r == nil).
				if r := recover(); r != nil {
					c.panic = newPanicError(r)
				}
			}
		}()
		if fnCtx != nil {
			c.val, c.err = fnCtx(ctx)
		} else {
			c.val, c.err = fn()
		}
		normalReturn = true
	}()
	if !normalReturn {
		recovered = true
	}
}

// finish publishes c's outcome to its waiters and releases the key. It runs
// in doCall's deferred function, so a panic it raises propagates from the
// goroutine that ran fn.
func (g *Group[K, V]) finish(c *call[V], key K, inline bool) {
	keep := g.window(c) // asks the policy before taking the lock
	g.mu.Lock()
	c.finished = true
	c.shared = c.waiters > 1
	if g.m[key] == c {
		if keep > 0 && c.waiters > 0 && !c.cancelled {
			c.expiry = time.AfterFunc(keep, func() { g.expire(key, c) })
		} else {
			delete(g.m, key)
		}
	}
	waiters := c.waiters
	var chans []chan<- Result[V]
	var done chan struct{}
	if x := c.x; x != nil {
		chans, done = x.chans, x.done
		x.chans = nil
		x.stopLinger()
	}
	g.mu.Unlock()

	if c.hasCtx {
		// Like a request's context after its handler returns: whatever fn
		// started with it must stop now. This also frees its timer.
		c.x.ctx.Cancel(nil)
	}
	g.st.finished.Add(1)

	if pe := c.panic; pe != nil {
		g.st.panics.Add(1)
		if len(chans) > 0 {
			// A DoChan receiver cannot be made to panic, and leaving its
			// channel unanswered would hang it: crash, as x/sync does, in a
			// goroutine of its own so that nothing can recover the panic.
			go panic(pe)
			select {} // keep this goroutine in the crash dump
		}
		c.wg.Done()
		if done != nil {
			close(done)
		}
		switch {
		case inline:
			panic(pe) // the waiter running fn receives it like the others
		case waiters > 0:
			// Every waiter re-panics on its own goroutine.
		case g.cfg.onPanic != nil:
			g.cfg.onPanic(pe)
		default:
			panic(pe) // nobody left to tell: crash rather than swallow it
		}
		return
	}

	c.wg.Done()
	if done != nil {
		close(done)
	}
	if len(chans) > 0 {
		r := c.result()
		for _, ch := range chans {
			ch <- r
		}
	}
}

// window returns how long c's outcome may be retained. It is zero without a
// policy and for every outcome that must never be shared after the fact:
// panics, Goexit, and context errors, which belong to one caller.
func (g *Group[K, V]) window(c *call[V]) time.Duration {
	p := g.cfg.forget
	if p == nil || c.panic != nil || c.goexit {
		return 0
	}
	if err := c.err; err != nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAbandoned)) {
		return 0
	}
	return p.Retain(c.err)
}

// expire ends c's retention window.
func (g *Group[K, V]) expire(key K, c *call[V]) {
	g.mu.Lock()
	if g.m[key] == c {
		delete(g.m, key)
	}
	g.mu.Unlock()
}
