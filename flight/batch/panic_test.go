package batch_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/batch"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/internal/crashtest"
)

// crashMarker is what the crashing fetch panics with; the parent looks for
// it in the child's crash report.
const crashMarker = "batch-test-crash-marker"

// requirePanicError checks that o is a panic with a *flight.PanicError
// holding value, with the stack of the fetch that panicked.
func requirePanicError(t *testing.T, o outcome, value any) *flight.PanicError {
	t.Helper()
	require.NotNil(t, o.panicked, "the caller must panic, got %+v", o)
	pe, ok := o.panicked.(*flight.PanicError)
	require.True(t, ok, "the panic value is %T, want *flight.PanicError", o.panicked)
	assert.Equal(t, value, pe.Value)
	assert.Contains(t, string(pe.Stack), "panic_test.go", "the stack shows where fetch panicked")
	return pe
}

// TestLoaderPanic checks B6: every Load and LoadMany waiting for a batch
// whose fetch panicked panics with the same *flight.PanicError, and every
// key of the batch is released, so the next loads fetch again and succeed.
func TestLoaderPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		boom := errors.New("boom")
		many := goLoadMany(l, t.Context(), 1, 2, 3)
		c := g.next(t)
		one := goLoad(l, t.Context(), 2)
		synctest.Wait() // one joined the running fetch
		c.do(func() (map[int]string, error) { panic(boom) })
		pe := requirePanicError(t, recv(t, many), boom)
		assert.Same(t, pe, requirePanicError(t, recv(t, one), boom))
		require.ErrorIs(t, pe, boom, "Unwrap gives the error fetch panicked with")

		again := goLoadMany(l, t.Context(), 3, 2, 1)
		c2 := g.next(t)
		assert.Equal(t, []int{3, 2, 1}, c2.keys, "no key is stuck")
		c2.found()
		require.NoError(t, recv(t, again).res.Err())
		settle(t, l)
	})
}

// TestAnchorPanicStrandsKeys is the regression test for anchor bug 3: a
// panic in a fetch of several keys leaves some keys stuck in samber's DoX.
// Here every key of the batch, joined or not, is answered and released.
func TestAnchorPanicStrandsKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		var outs []<-chan outcome
		outs = append(outs, goLoadMany(l, t.Context(), 1, 2, 3, 4))
		c := g.next(t)
		for k := range 4 {
			outs = append(outs, goLoad(l, t.Context(), k+1))
		}
		synctest.Wait()
		c.do(func() (map[int]string, error) { panic("several keys") })
		for _, ch := range outs {
			requirePanicError(t, recv(t, ch), "several keys")
		}
		settle(t, l)
	})
}

// TestLoaderPanicOtherBatch checks that a LoadMany whose keys span two
// batches, one of which panics, leaves the other before panicking: that
// batch's fetch is abandoned when it had no other waiter.
func TestLoaderPanicOtherBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		first := goLoad(l, t.Context(), 1)
		c1 := g.next(t)
		synctest.Wait()
		many := goLoadMany(l, t.Context(), 2, 1)
		c2 := g.next(t)
		c2.do(func() (map[int]string, error) { panic("two") })
		requirePanicError(t, recv(t, many), "two")
		assert.NoError(t, c1.ctx.Err(), "key 1 still has a waiter")
		c1.found()
		assert.Equal(t, "v1", recv(t, first).v)
		settle(t, l)
	})
}

// TestLoaderGoexit checks that runtime.Goexit in fetch gives every waiter
// flight.ErrGoexit, and that the slot it held still reaches the batch that
// was queued behind it.
func TestLoaderGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithMaxConcurrency(1))
		a := goLoadMany(l, t.Context(), 1, 2)
		c := g.next(t)
		synctest.Wait()
		b := goLoad(l, t.Context(), 3)
		synctest.Wait() // queued behind the fetch that calls Goexit
		c.do(func() (map[int]string, error) { runtime.Goexit(); return nil, nil })
		rs := recv(t, a).res
		for _, r := range rs {
			assert.Equal(t, flight.ErrGoexit, r.Err)
		}
		c2 := g.next(t)
		assert.Equal(t, []int{3}, c2.keys)
		c2.found()
		assert.Equal(t, "v3", recv(t, b).v)
		settle(t, l)
	})
}

// TestLoaderPanicQueued checks that a panic does not stall the queue: the
// batch waiting for the panicking fetch's slot runs after it.
func TestLoaderPanicQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithMaxConcurrency(1))
		a := goLoad(l, t.Context(), 1)
		c := g.next(t)
		synctest.Wait()
		b := goLoad(l, t.Context(), 2)
		synctest.Wait() // queued behind the fetch that panics
		c.do(func() (map[int]string, error) { panic("first") })
		requirePanicError(t, recv(t, a), "first")
		g.next(t).found()
		assert.Equal(t, "v2", recv(t, b).v)
		settle(t, l)
	})
}

// TestLoaderPanicHandler checks G5's rule for batches: a panic that no
// waiter is left to receive goes to the handler.
func TestLoaderPanicHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		got := make(chan *flight.PanicError, 1)
		l := batch.New(g.fetch, batch.WithPanicHandler(func(pe *flight.PanicError) { got <- pe }))
		ctx, cancel := context.WithCancel(t.Context())
		a := goLoad(l, ctx, 1)
		c := g.next(t)
		cancel()
		require.ErrorIs(t, recv(t, a).err, context.Canceled)
		c.do(func() (map[int]string, error) { panic("alone") })
		assert.Equal(t, "alone", recv(t, got).Value)
		settle(t, l)
	})
}

// TestLoaderPanicCrash checks that without a handler, a panic that no
// waiter is left to receive crashes the process rather than vanish. It runs
// the crashing half in a child process.
func TestLoaderPanicCrash(t *testing.T) {
	if crashtest.InChild(t) {
		started := make(chan struct{})
		l := batch.New(func(ctx context.Context, _ []int) (map[int]string, error) {
			close(started)
			<-ctx.Done() // abandoned
			panic(crashMarker)
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _, _ = l.Load(ctx, 1) }()
		<-started
		cancel()
		select {} // the fetch goroutine crashes the process
	}
	crashtest.Require(t, crashMarker, waitLimit)
}

// TestLoaderLoadManyPanics checks issue 10, item 7: when two fetches of one
// LoadMany panic, both panics reach someone. If both are published before
// LoadMany sees either, it panics with a *flight.PanicError that joins them;
// if one comes after LoadMany has panicked and left, it goes to the
// fetch's other waiters or, with none, to the panic handler.
func TestLoaderLoadManyPanics(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	panicA := func() (map[int]string, error) { panic(errA) }
	panicB := func() (map[int]string, error) { panic(errB) }
	t.Run("both before", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startTwoBatches(t)
			p.c2.do(panicB) // the batch LoadMany does not wait on yet
			synctest.Wait()
			p.c1.do(panicA)
			o := recv(t, p.many)
			require.NotNil(t, o.panicked)
			pe, ok := o.panicked.(*flight.PanicError)
			require.True(t, ok, "panicked with %T", o.panicked)
			require.ErrorIs(t, pe, errA)
			require.ErrorIs(t, pe, errB, "the second panic is not lost")
			assert.Empty(t, p.handled)
			settle(t, p.l)
		})
	})
	t.Run("one after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := startTwoBatches(t)
			p.c1.do(panicA)
			pe := requirePanicError(t, recv(t, p.many), errA)
			require.NotErrorIs(t, pe, errB)
			assert.ErrorIs(t, context.Cause(p.c2.ctx), flight.ErrAbandoned, "LoadMany left the other fetch")
			p.c2.do(panicB)
			require.ErrorIs(t, recv(t, p.handled), errB, "the second panic reaches the handler")
			settle(t, p.l)
		})
	})
}

// twoBatches is a LoadMany of keys 1 and 2 whose fetches (c1, c2) are
// running, one key each, on a loader with a panic handler.
type twoBatches struct {
	l       *batch.Loader[int, string]
	many    <-chan outcome
	c1, c2  *fetchCall
	handled chan *flight.PanicError
}

func startTwoBatches(t *testing.T) twoBatches {
	t.Helper()
	g := newGate()
	p := twoBatches{handled: make(chan *flight.PanicError, 2)}
	p.l = batch.New(g.fetch, batch.WithMaxBatch(1),
		batch.WithPanicHandler(func(pe *flight.PanicError) { p.handled <- pe }))
	p.many = goLoadMany(p.l, t.Context(), 1, 2)
	p.c1, p.c2 = g.next(t), g.next(t)
	if p.c1.keys[0] != 1 {
		p.c1, p.c2 = p.c2, p.c1
	}
	return p
}

// TestLoaderPanicNotKept checks that no forget policy keeps a panic or a
// Goexit (B6): the next load of the key fetches it again.
func TestLoaderPanicNotKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithForget(forget.After(time.Hour)))
		a := goLoad(l, t.Context(), 1)
		g.next(t).do(func() (map[int]string, error) { panic("not kept") })
		requirePanicError(t, recv(t, a), "not kept")
		a = goLoad(l, t.Context(), 1)
		g.next(t).do(func() (map[int]string, error) { runtime.Goexit(); return nil, nil })
		require.ErrorIs(t, recv(t, a).err, flight.ErrGoexit)
		a = goLoad(l, t.Context(), 1)
		g.next(t).found() // neither the panic nor the Goexit was kept
		assert.Equal(t, "v1", recv(t, a).v)
		time.Sleep(time.Hour) // the value's window
		settle(t, l)
	})
}
