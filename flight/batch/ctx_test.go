package batch_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/batch"
	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

type ctxKey struct{}

// TestLoaderCtxDetach checks B5: a waiter whose ctx ends returns ctx.Err()
// at once and detaches, while the fetch goes on for the other waiters.
func TestLoaderCtxDetach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		ctx, cancel := context.WithCancel(t.Context())
		dctx, dcancel := context.WithTimeout(t.Context(), time.Second)
		defer dcancel()
		leaver := goLoad(l, ctx, 1)
		c := g.next(t)
		timed := goLoadMany(l, dctx, 1, 2)
		stayer := goLoad(l, t.Context(), 1)
		c2 := g.next(t)

		cancel()
		o := recv(t, leaver)
		require.ErrorIs(t, o.err, context.Canceled)
		time.Sleep(time.Second)
		m := recv(t, timed)
		for _, r := range m.res {
			assert.Equal(t, context.DeadlineExceeded, r.Err, "key %d", r.Key)
		}
		assert.NoError(t, c.ctx.Err(), "the fetch goes on for the remaining waiter")
		assert.ErrorIs(t, context.Cause(c2.ctx), flight.ErrAbandoned, "key 2's only waiter left")
		c.found()
		c2.found()
		assert.Equal(t, "v1", recv(t, stayer).v)
		settle(t, l)
	})
}

// TestLoaderCtxDoneOnEntry checks that a ctx already done returns ctx.Err()
// for every key and neither starts nor joins a fetch.
func TestLoaderCtxDoneOnEntry(t *testing.T) {
	g := newGate()
	l := batch.New(g.fetch)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := l.Load(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	rs := l.LoadMany(ctx, []int{1, 2})
	require.Len(t, rs, 2)
	require.ErrorIs(t, rs.Err(), context.Canceled)
	g.none(t)
	requireRest(t, l)
}

// TestLoaderFetchCtx checks what fetch's context carries: the values of the
// load that opened the batch, for the whole fetch even after that load left;
// no deadline; no single waiter's cancellation; and its end when fetch
// returns.
func TestLoaderFetchCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(time.Millisecond))
		opener, cancel := context.WithTimeout(context.WithValue(t.Context(), ctxKey{}, "opener"), time.Hour)
		a := goLoad(l, opener, 1)
		synctest.Wait() // a opens the batch
		b := goLoad(l, context.WithValue(t.Context(), ctxKey{}, "other"), 2)
		c := g.next(t)
		cancel()
		require.ErrorIs(t, recv(t, a).err, context.Canceled)
		assert.Equal(t, "opener", c.ctx.Value(ctxKey{}), "the opener's values stay")
		_, ok := c.ctx.Deadline()
		assert.False(t, ok, "no deadline without WithFetchTimeout")
		assert.NoError(t, c.ctx.Err(), "the opener leaving does not cancel the fetch")
		c.found()
		assert.Equal(t, "v2", recv(t, b).v)
		synctest.Wait()
		assert.ErrorIs(t, c.ctx.Err(), context.Canceled, "fetch's context ends with fetch")
		settle(t, l)
	})
}

// TestLoaderFetchTimeout checks WithFetchTimeout: fetch's context ends d
// after the fetch starts, not when the batch opened.
func TestLoaderFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(2*time.Second), batch.WithFetchTimeout(time.Second))
		a := goLoad(l, t.Context(), 1)
		c := g.next(t)
		start := time.Now()
		c.do(func() (map[int]string, error) {
			<-c.ctx.Done()
			return nil, c.ctx.Err()
		})
		assert.Equal(t, context.DeadlineExceeded, recv(t, a).err)
		assert.Equal(t, time.Second, time.Since(start))
		settle(t, l)
	})
}

// TestLoaderAbandon checks B5's last clause and G7e's rule: when every
// waiter of every key of a running batch has gone, fetch's context is
// cancelled with cause ErrAbandoned and the keys are released, so a later
// load starts a new fetch rather than join the abandoned one.
func TestLoaderAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		ctx1, cancel1 := context.WithCancel(t.Context())
		ctx2, cancel2 := context.WithCancel(t.Context())
		a := goLoadMany(l, ctx1, 1, 2)
		c := g.next(t)
		b := goLoad(l, ctx2, 2)
		synctest.Wait()

		cancel1()
		require.ErrorIs(t, recv(t, a).res.Err(), context.Canceled)
		assert.NoError(t, c.ctx.Err(), "key 2 still has a waiter")
		cancel2()
		require.ErrorIs(t, recv(t, b).err, context.Canceled)
		<-c.ctx.Done()
		assert.ErrorIs(t, context.Cause(c.ctx), flight.ErrAbandoned)
		assert.ErrorIs(t, context.Cause(c.ctx), flightctx.ErrAbandoned)

		fresh := goLoad(l, t.Context(), 2)
		c2 := g.next(t)
		assert.Equal(t, []int{2}, c2.keys, "an abandoned fetch is not joined")
		c.answer(map[int]string{2: "stale"}, nil)
		c2.found()
		assert.Equal(t, "v2", recv(t, fresh).v)
		settle(t, l)
	})
}

// TestLoaderDropBeforeDispatch checks B5: a key whose waiters all left
// before its fetch started is not fetched, and a batch left with no key is
// not fetched at all, its window timer stopped.
func TestLoaderDropBeforeDispatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(time.Second))
		ctx, cancel := context.WithCancel(t.Context())
		a := goLoadMany(l, ctx, 1, 2, 1)
		b := goLoad(l, t.Context(), 2)
		synctest.Wait()
		cancel()
		require.ErrorIs(t, recv(t, a).res.Err(), context.Canceled)
		c := g.next(t)
		assert.Equal(t, []int{2}, c.keys, "key 1 was dropped")
		c.found()
		assert.Equal(t, "v2", recv(t, b).v)

		ctx, cancel = context.WithCancel(t.Context())
		a = goLoad(l, ctx, 3)
		synctest.Wait()
		cancel()
		require.ErrorIs(t, recv(t, a).err, context.Canceled)
		settle(t, l) // no key, no timer
		time.Sleep(2 * time.Second)
		g.none(t)
	})
}

// TestLoaderLoadManyPartial checks that a LoadMany whose ctx ends keeps the
// values that had arrived and gives ctx.Err() only to the keys still waiting.
func TestLoaderLoadManyPartial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		hold := goLoad(l, t.Context(), 2)
		c2 := g.next(t)
		ctx, cancel := context.WithCancel(t.Context())
		m := goLoadMany(l, ctx, 1, 2)
		c1 := g.next(t)
		c1.found()
		synctest.Wait()
		cancel()
		rs := recv(t, m).res
		assert.Equal(t, "v1", rs[0].Val)
		assert.NoError(t, rs[0].Err)
		assert.ErrorIs(t, rs[1].Err, context.Canceled)
		c2.found()
		assert.Equal(t, "v2", recv(t, hold).v)
		settle(t, l)
	})
}

// TestAnchorFirstCallerCtx is the regression test for anchor bug 1: in
// dataloader and dataloadgen the first caller's ctx is fetch's ctx, so when
// that caller's request is cancelled, every other request's keys in the
// batch fail with its error, and the failure stays in their cache. With a
// Loader, the other callers get their values, and the cancelled caller's
// keys are loaded afresh next time.
func TestAnchorFirstCallerCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := batch.New(func(ctx context.Context, keys []int) (map[int]string, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Millisecond): // the query
				return vals(keys), nil
			}
		}, batch.WithWindow(time.Millisecond))
		first, cancel := context.WithCancel(t.Context())
		a := goLoadMany(l, first, 1, 2)
		b := goLoad(l, t.Context(), 2)
		c := goLoad(l, t.Context(), 3)
		time.Sleep(5 * time.Millisecond) // the fetch is running
		cancel()
		require.ErrorIs(t, recv(t, a).res.Err(), context.Canceled)
		ob, oc := recv(t, b), recv(t, c)
		require.NoError(t, ob.err, "another caller's cancellation never fails my keys")
		require.NoError(t, oc.err)
		assert.Equal(t, "v2", ob.v)

		v, err := l.Load(t.Context(), 1)
		require.NoError(t, err, "no failure is cached")
		assert.Equal(t, "v1", v)
		assert.False(t, errors.Is(err, context.Canceled))
		settle(t, l)
	})
}

// TestLoaderFetchTimeoutErr checks issue 10, item 6: when fetch's deadline
// (WithFetchTimeout) passes before anything looked at its context, and then
// the loader acts on that context (here: its last waiter leaves, which
// releases it), fetch's ctx.Err() still reports context.DeadlineExceeded,
// as context.Cause does: the deadline came first.
//
// The fix belongs to flight/ctx (Shared); this is the Loader's regression
// test for it.
func TestLoaderFetchTimeoutErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithFetchTimeout(time.Second))
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		a := goLoad(l, ctx, 1)
		c := g.next(t)
		require.ErrorIs(t, recv(t, a).err, context.DeadlineExceeded, "the waiter left after the fetch's deadline")
		synctest.Wait() // the loader released fetch's context
		assert.Equal(t, context.DeadlineExceeded, c.ctx.Err(), "the deadline passed first")
		assert.Equal(t, context.DeadlineExceeded, context.Cause(c.ctx))
		c.found()
		settle(t, l)
	})
}
