package flight

import (
	"context"
	"slices"
)

// DoChanCtx is the channel form of [Group.DoCtx]: it joins or starts key's
// call exactly as DoCtx does, before it returns, and returns a channel that
// receives the outcome, or ctx.Err() when ctx ends first. The channel has a
// buffer of one, receives exactly one [Result] and is never closed. A waiter
// whose ctx ends detaches at that moment, as a DoCtx waiter does: it no
// longer counts for Result.Shared, and when it was the last waiter, fn's
// context is cancelled with cause [ErrAbandoned].
//
// fn always runs on a new goroutine, with a context of the group's (see
// DoCtx for what it carries), even when ctx can never end. If ctx is already
// done, the channel receives ctx.Err() at once and nothing is started or
// joined. Like a [Group.DoChan] waiter, a DoChanCtx waiter cannot be made to
// panic: if fn panics while one is attached, the process crashes; if fn calls
// [runtime.Goexit], the channel receives [ErrGoexit]. DoChanCtx panics if ctx
// or fn is nil, and if key cannot be hashed.
//
// A waiter whose ctx can end is watched with [context.AfterFunc], which
// costs no goroutine until ctx ends.
func (g *Group[K, V]) DoChanCtx(ctx context.Context, key K, fn func(context.Context) (V, error)) <-chan Result[V] {
	if ctx == nil {
		panic("flight: nil Context")
	}
	if fn == nil {
		panic("flight: nil fn")
	}
	ch := make(chan Result[V], 1)
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			ch <- Result[V]{Err: ctx.Err()}
			return ch
		default:
		}
	}
	alone := g.keys.Load() != keysPlain && g.alone(key)
	g.mu.Lock()
	c, ok := g.m[key]
	var b *ctxCall[K, V]
	switch {
	case ok && (done == nil || c.finished()):
		g.joinChan(c, ch) // a waiter that never detaches, like DoChan's
		return ch
	case ok:
		g.attach(c, done != nil)
	default:
		b = g.startCtx(ctx, key, fn, alone, done != nil, false)
		c = &b.c
		if done == nil {
			g.addChan(c, ch)
		}
	}
	var w *chanWaiter[V]
	if done != nil {
		w = &chanWaiter[V]{ch: ch}
		a := c.rare()
		a.ctxChans = append(a.ctxChans, w)
	}
	g.mu.Unlock()
	if b != nil {
		g.st.started.Add(1)
		go b.run()
	} else {
		g.st.joins.Add(1)
	}
	if w != nil {
		g.watch(ctx, key, c, w)
	}
	return ch
}

// watch detaches the DoChanCtx waiter w from c when ctx ends, unless the
// outcome reached it first.
func (g *Group[K, V]) watch(ctx context.Context, key K, c *call[V], w *chanWaiter[V]) {
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		if w.answered {
			g.mu.Unlock()
			return
		}
		w.answered = true
		a := c.x.aux
		a.ctxChans = slices.DeleteFunc(a.ctxChans, func(o *chanWaiter[V]) bool { return o == w })
		f := g.leave(key, c)
		g.mu.Unlock()
		f.fire()
		w.ch <- Result[V]{Err: ctx.Err()}
	})
	// finish stops the watch of a waiter it answers, unless the watch is
	// not registered yet: then it is stopped here.
	g.mu.Lock()
	answered := w.answered
	if !answered {
		w.stop = stop
	}
	g.mu.Unlock()
	if answered {
		stop()
	}
}
