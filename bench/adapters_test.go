package bench

import (
	"context"
	"sync"

	"github.com/flightkit/flightkit/flight"
	xsync "golang.org/x/sync/singleflight"
	resenje "resenje.org/singleflight"
	tailscale "tailscale.com/util/singleflight"
)

// Each adapter builds its library's function from w once, in its
// constructor, and calls the library the way its users would.

// flightGroup: Do, DoCtx and DoChan of flight.Group[string, int].
type flightGroup struct {
	g  flight.Group[string, int]
	fn func() (int, error)
	w  work
}

func newFlight(w work) group {
	return &flightGroup{w: w, fn: func() (int, error) { return w(context.Background()) }}
}

func (f *flightGroup) do(key string) (int, error) {
	v, err, _ := f.g.Do(key, f.fn)
	return v, err
}

func (f *flightGroup) doCtx(ctx context.Context, key string) (int, error) {
	v, err, _ := f.g.DoCtx(ctx, key, f.w)
	return v, err
}

func (f *flightGroup) doChan(key string) (int, error) {
	r := <-f.g.DoChan(key, f.fn)
	return r.Val, r.Err
}

// xsyncGroup: x/sync's Do and DoChan. x/sync has no context form, so doCtx
// is the idiom its users write: DoChan, then select on the result and
// ctx.Done().
type xsyncGroup struct {
	g  xsync.Group
	fn func() (any, error)
}

func newXSync(w work) group {
	return &xsyncGroup{fn: func() (any, error) { return w(context.Background()) }}
}

func (x *xsyncGroup) do(key string) (int, error) {
	v, err, _ := x.g.Do(key, x.fn)
	n, _ := v.(int)
	return n, err
}

func (x *xsyncGroup) doCtx(ctx context.Context, key string) (int, error) {
	select {
	case r := <-x.g.DoChan(key, x.fn):
		n, _ := r.Val.(int)
		return n, r.Err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (x *xsyncGroup) doChan(key string) (int, error) {
	r := <-x.g.DoChan(key, x.fn)
	n, _ := r.Val.(int)
	return n, r.Err
}

// xsyncDo is x/sync's Do standing in for a context form: it ignores ctx, so
// it is the cost floor that DoCtx is measured against, not a way to detach.
type xsyncDo struct{ *xsyncGroup }

func newXSyncDo(w work) group { return xsyncDo{newXSync(w).(*xsyncGroup)} }

func (x xsyncDo) doCtx(_ context.Context, key string) (int, error) { return x.do(key) }

// resenjeGroup: resenje.org/singleflight has only Do(ctx, ...), so do uses it
// with context.Background().
type resenjeGroup struct {
	g resenje.Group[string, int]
	w work
}

func newResenje(w work) group { return &resenjeGroup{w: w} }

func (r *resenjeGroup) do(key string) (int, error) {
	return r.doCtx(context.Background(), key)
}

func (r *resenjeGroup) doCtx(ctx context.Context, key string) (int, error) {
	v, _, err := r.g.Do(ctx, key, r.w)
	return v, err
}

// tailscaleGroup: tailscale.com/util/singleflight's Do, DoChan and
// DoChanContext. Its channel answers a cancelled caller only once the call is
// over when that caller was the last, so doCtx also selects on ctx.Done() to
// return as soon as ctx ends, as the other context forms do.
type tailscaleGroup struct {
	g  tailscale.Group[string, int]
	fn func() (int, error)
	w  work
}

func newTailscale(w work) group {
	return &tailscaleGroup{w: w, fn: func() (int, error) { return w(context.Background()) }}
}

func (t *tailscaleGroup) do(key string) (int, error) {
	v, err, _ := t.g.Do(key, t.fn)
	return v, err
}

func (t *tailscaleGroup) doCtx(ctx context.Context, key string) (int, error) {
	select {
	case r := <-t.g.DoChanContext(ctx, key, t.w):
		return r.Val, r.Err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (t *tailscaleGroup) doChan(key string) (int, error) {
	r := <-t.g.DoChan(key, t.fn)
	return r.Val, r.Err
}

// minGroup is the floor of a single call, no implementation at all: what any
// singleflight must pay at least. Its do is a mutex, a map insert and delete
// and one allocation around a direct call; its doCtx adds the goroutine and
// channel handoff that a caller who can leave needs, and a select on ctx; its
// doChan is a goroutine and a buffered channel. It suppresses nothing, so it
// only stands in the single-caller benchmarks (Do, DoCtx, DoChan), as
// impl=floor.
type minGroup struct {
	mu sync.Mutex
	m  map[string]*minCall
	w  work
}

type minCall struct {
	v    int
	err  error
	done chan struct{}
}

func newMin(w work) group { return &minGroup{m: make(map[string]*minCall), w: w} }

func (f *minGroup) start(key string, done chan struct{}) *minCall {
	c := &minCall{done: done}
	f.mu.Lock()
	f.m[key] = c
	f.mu.Unlock()
	return c
}

func (f *minGroup) end(key string) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
}

func (f *minGroup) do(key string) (int, error) {
	c := f.start(key, nil)
	c.v, c.err = f.w(context.Background())
	f.end(key)
	return c.v, c.err
}

func (f *minGroup) doCtx(ctx context.Context, key string) (int, error) {
	c := f.start(key, make(chan struct{}))
	go func() {
		c.v, c.err = f.w(ctx)
		f.end(key)
		close(c.done)
	}()
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (f *minGroup) doChan(key string) (int, error) {
	ch := make(chan minCall, 1)
	go func() {
		v, err := f.w(context.Background())
		ch <- minCall{v: v, err: err}
	}()
	r := <-ch
	return r.v, r.err
}

// floorGroup is no implementation at all: every caller runs the function
// itself. In the crowd benchmarks it measures the harness alone.
type floorGroup struct{ w work }

func newFloor(w work) group { return floorGroup{w} }

func (f floorGroup) do(string) (int, error) { return f.w(context.Background()) }

func (f floorGroup) doCtx(ctx context.Context, _ string) (int, error) { return f.w(ctx) }

// leanGroup is the least a singleflight whose callers can leave must do:
// x/sync's shape with one channel per call, closed when fn returns, on which
// every caller waits in a select with its ctx.Done(). fn runs on a goroutine
// of its own, with context.Background(). It keeps no statistics, gives fn no
// context of its own (so fn is never cancelled when every caller has left),
// handles no panic and releases nothing when callers leave: it is flight's
// design with every feature taken out, the reference that the context
// benchmarks measure flight's bookkeeping against (impl=lean).
type leanGroup struct {
	mu sync.Mutex
	m  map[string]*leanCall
	w  work
}

type leanCall struct {
	v       int
	err     error
	waiters int
	done    chan struct{}
}

func newLean(w work) group { return &leanGroup{m: make(map[string]*leanCall), w: w} }

func (g *leanGroup) do(key string) (int, error) { return g.doCtx(context.Background(), key) }

func (g *leanGroup) doCtx(ctx context.Context, key string) (int, error) {
	g.mu.Lock()
	c, ok := g.m[key]
	if ok {
		c.waiters++
		g.mu.Unlock()
	} else {
		c = &leanCall{waiters: 1, done: make(chan struct{})}
		g.m[key] = c
		g.mu.Unlock()
		go g.run(c, key)
	}
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		g.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (g *leanGroup) run(c *leanCall, key string) {
	c.v, c.err = g.w(context.Background())
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(c.done)
}
