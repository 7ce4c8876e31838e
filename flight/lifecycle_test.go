package flight_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
)

// afterFuncer is what the context package looks for in a parent it does not
// know, to attach children without a goroutine. fn's context has it.
type afterFuncer interface {
	AfterFunc(func()) func() bool
}

// TestGroupCancelOutsideLock checks issue 10, item 8: cancelling fn's
// context, however large its tree of children, happens after the group's
// lock is released, so callers of other keys never wait for it. fn's context
// gets a child whose cancellation blocks on a channel; while the goroutine
// that cancels is stuck in it, a Do on another key must complete.
func TestGroupCancelOutsideLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []flight.Option
		// cancel makes the group cancel fn's context, on some goroutine.
		cancel func(t *testing.T, g *flight.Group[string, int], leave context.CancelFunc, waiter <-chan result)
	}{
		{"last waiter leaves", nil, func(_ *testing.T, _ *flight.Group[string, int], leave context.CancelFunc, _ <-chan result) {
			leave()
		}},
		{"linger ends", []flight.Option{flight.WithLinger(time.Millisecond)},
			func(_ *testing.T, _ *flight.Group[string, int], leave context.CancelFunc, _ <-chan result) { leave() }},
		{"Forget of a lingering call", []flight.Option{flight.WithLinger(time.Hour)},
			func(t *testing.T, g *flight.Group[string, int], leave context.CancelFunc, waiter <-chan result) {
				leave()
				require.ErrorIs(t, recvWithin(t, waiter, "the waiter").err, context.Canceled)
				go g.Forget("k")
			}},
		{"Cancel", nil, func(_ *testing.T, g *flight.Group[string, int], _ context.CancelFunc, _ <-chan result) {
			go g.Cancel("k", errTest)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := flight.New[string, int](tc.opts...)
			entered, unblock, registered := make(chan struct{}), make(chan struct{}), make(chan struct{})
			fn := func(ctx context.Context) (int, error) {
				ctx.(afterFuncer).AfterFunc(func() {
					close(entered)
					<-unblock
				})
				close(registered)
				<-ctx.Done()
				return 0, ctx.Err()
			}
			ctx, leave := context.WithCancel(t.Context())
			defer leave()
			waiter := async(func() (int, error, bool) { return g.DoCtx(ctx, "k", fn) })
			recvWithin(t, registered, "fn to register its child")
			tc.cancel(t, g, leave, waiter)
			recvWithin(t, entered, "the cancellation to reach the child")
			other := asyncDo(g, "other", constant(2))
			requireValue(t, recvWithin(t, other, "a Do on another key while fn's context tree is being cancelled"), 2, false)
			close(unblock)
			deadline := time.Now().Add(waitLimit)
			for g.InFlight() > 0 { // fn returns once its context is done
				require.True(t, time.Now().Before(deadline), "fn never returned")
				runtime.Gosched() // bounded by deadline
			}
		})
	}
}

// leaveOnWait is a context that ends as soon as a DoCtx caller starts
// waiting on it: its second call to Done (DoCtx calls it once on entry)
// cancels it.
type leaveOnWait struct {
	context.Context
	cancel context.CancelFunc
	calls  int
}

func newLeaveOnWait(parent context.Context) *leaveOnWait {
	ctx, cancel := context.WithCancel(parent)
	return &leaveOnWait{Context: ctx, cancel: cancel}
}

func (c *leaveOnWait) Done() <-chan struct{} {
	if c.calls++; c.calls == 2 {
		c.cancel()
	}
	return c.Context.Done()
}

// TestGroupUnstartedWork checks G12 (issue 10, item 10): when every waiter
// has left before fn's goroutine begins, fn is not called, and Stats counts
// it as skipped. With one P, the goroutine DoCtx starts runs only once the
// caller blocks, and a caller whose ctx ends at once never blocks.
func TestGroupUnstartedWork(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 100
	var g flight.Group[string, int]
	var ran atomic.Int32
	fn := func(context.Context) (int, error) {
		ran.Add(1)
		return 1, nil
	}
	for range n {
		ctx := newLeaveOnWait(t.Context())
		_, err, _ := g.DoCtx(ctx, "k", fn)
		require.ErrorIs(t, err, context.Canceled)
	}
	deadline := time.Now().Add(waitLimit)
	for g.InFlight() > 0 {
		require.True(t, time.Now().Before(deadline), "the skipped executions never ended")
		runtime.Gosched() // let the started goroutines run; bounded by deadline
	}
	require.Zero(t, ran.Load(), "fn ran for nobody")
	require.Equal(t, flight.Stats{Executions: n, Abandoned: n, Skipped: n}, g.Stats())
}

// TestGroupReleasedCallDoesNotLinger checks issue 10, item 9: a call that
// Forget, ForgetUnshared or Cancel released cannot be joined again, so when
// its last waiter leaves it is cancelled at once, whatever the linger; and a
// call already lingering when Forget releases it is cancelled at once too.
func TestGroupReleasedCallDoesNotLinger(t *testing.T) {
	for _, tc := range []struct {
		name      string
		release   func(g *flight.Group[string, int])
		cause     error
		abandoned uint64
	}{
		{"Forget", func(g *flight.Group[string, int]) { g.Forget("k") }, flight.ErrAbandoned, 1},
		{"ForgetUnshared", func(g *flight.Group[string, int]) { require.True(t, g.ForgetUnshared("k")) }, flight.ErrAbandoned, 1},
		{"Cancel", func(g *flight.Group[string, int]) { require.True(t, g.Cancel("k", errTest)) }, errTest, 1},
	} {
		for _, lingering := range []bool{false, true} {
			name := tc.name + " then the last waiter leaves"
			if lingering {
				name = "the last waiter leaves then " + tc.name
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					g := flight.New[string, int](flight.WithLinger(time.Hour))
					b := newBlocker()
					ctx, leave := context.WithCancel(t.Context())
					r := asyncDoCtx(ctx, g, "k", b.fnCtx(1))
					fctx := b.awaitStart(t)
					if !lingering {
						tc.release(g)
					}
					leave()
					require.ErrorIs(t, recvWithin(t, r, "the waiter").err, context.Canceled)
					synctest.Wait()
					if lingering {
						requireLive(t, fctx, "a lingering call")
						tc.release(g)
					}
					requireDone(t, fctx, "fn's context, with no time passed")
					require.ErrorIs(t, context.Cause(fctx), tc.cause)
					abandoned := tc.abandoned
					if lingering && tc.name == "Cancel" {
						abandoned = 0 // cancelled, not abandoned
					}
					require.Equal(t, abandoned, g.Stats().Abandoned)
					close(b.release)
				})
			})
		}
	}
}
