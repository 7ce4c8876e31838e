package flight

// doCall runs fn for c and publishes the outcome. inline is true when the
// goroutine running doCall belongs to a waiter (the starter of Do, or of
// DoCtx with a context that cannot end), false on a goroutine of its own.
func (g *Group[K, V]) doCall(c *call[V], key K, inline bool) {
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
		c.val, c.err = c.invoke()
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
	g.mu.Lock()
	if g.m[key] == c {
		delete(g.m, key)
	}
	c.finished = true
	c.shared = c.waiters > 1
	waiters, chans, done := c.waiters, c.chans, c.done
	c.chans = nil
	g.mu.Unlock()

	ctxCall := c.fnCtx != nil
	c.fn, c.fnCtx = nil, nil
	if ctxCall {
		// Like a request's context after its handler returns: whatever fn
		// started with it must stop now. This also frees its timer.
		c.ctx.Cancel(nil)
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
