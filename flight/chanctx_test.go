package flight_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/internal/crashtest"
)

func constantCtx(v int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) { return v, nil }
}

// recvResult receives the one Result of a DoChanCtx channel and checks that
// no second one follows and that the channel is not closed.
func recvResult(t *testing.T, ch <-chan flight.Result[int], what string) flight.Result[int] {
	t.Helper()
	r := recvWithin(t, ch, what)
	synctest.Wait()
	requireNoValue(t, ch, what+": a second receive")
	return r
}

// TestGroupDoChanCtx checks the channel form of DoCtx (G7 for channels).
func TestGroupDoChanCtx(t *testing.T) {
	t.Run("registers before it returns", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ch := g.DoChanCtx(t.Context(), "k", b.fnCtx(1))
			// No waiting: the call is registered when DoChanCtx returns, so
			// a DoCtx on the key joins it, whatever the goroutines did.
			require.Equal(t, flight.Stats{InFlight: 1, Executions: 1}, g.Stats())
			joiner := asyncDoCtx(t.Context(), &g, "k", constantCtx(2))
			b.awaitStart(t)
			synctest.Wait()
			require.Equal(t, uint64(1), g.Stats().Joins)
			close(b.release)
			require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvResult(t, ch, "the channel"))
			requireValue(t, recvWithin(t, joiner, "the joiner"), 1, true)
		})
	})
	t.Run("the caller's ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			ch := g.DoChanCtx(ctx, "k", b.fnCtx(1))
			other := asyncDoCtx(t.Context(), &g, "k", constantCtx(2))
			fctx := b.awaitStart(t)
			r := recvResult(t, ch, "the deadline's error")
			require.True(t, r.Err == context.DeadlineExceeded, "Err = %v", r.Err)
			require.Zero(t, r.Val)
			requireLive(t, fctx, "the call goes on for the other waiter")
			close(b.release)
			requireValue(t, recvWithin(t, other, "the other waiter"), 1, false) // shared: the detached one does not count
		})
	})
	t.Run("the last waiter leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ctx, cancel := context.WithCancel(t.Context())
			ch := g.DoChanCtx(ctx, "k", b.fnCtx(1))
			fctx := b.awaitStart(t)
			cancel()
			require.ErrorIs(t, recvResult(t, ch, "the cancellation").Err, context.Canceled)
			requireDone(t, fctx, "fn's context once nobody waits")
			require.ErrorIs(t, context.Cause(fctx), flight.ErrAbandoned)
			require.Zero(t, g.Registered(), "the key is released")
			close(b.release)
		})
	})
	t.Run("ctx done on entry", func(t *testing.T) {
		var g flight.Group[string, int]
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ch := g.DoChanCtx(ctx, "k", func(context.Context) (int, error) { panic("not called") })
		require.ErrorIs(t, (<-ch).Err, context.Canceled)
		require.Equal(t, flight.Stats{}, g.Stats(), "nothing started or joined")
	})
	t.Run("a ctx that cannot end", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ctx := context.WithValue(context.Background(), ctxKey{}, "v")
			ch := g.DoChanCtx(ctx, "k", b.fnCtx(1))
			fctx := b.awaitStart(t)
			require.NotEqual(t, goroutineID(), b.goroutine(), "fn runs on a goroutine of its own")
			require.Equal(t, "v", fctx.Value(ctxKey{}))
			require.NotSame(t, ctx, fctx, "fn gets the group's context")
			// A joiner that cannot leave either.
			ch2 := g.DoChanCtx(context.Background(), "k", constantCtx(2))
			close(b.release)
			require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvResult(t, ch, "the starter"))
			require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvResult(t, ch2, "the joiner"))
		})
	})
	t.Run("Goexit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ch := g.DoChanCtx(t.Context(), "k", func(ctx context.Context) (int, error) { return b.goexiting()() })
			b.awaitStart(t)
			close(b.release)
			require.ErrorIs(t, recvResult(t, ch, "the Goexit").Err, flight.ErrGoexit)
		})
	})
	t.Run("retained outcome", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := flight.New[string, int](flight.WithForget(forget.After(time.Minute)))
			require.Equal(t, flight.Result[int]{Val: 1}, recvResult(t, g.DoChanCtx(t.Context(), "k", constantCtx(1)), "first"))
			require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvResult(t, g.DoChanCtx(t.Context(), "k", constantCtx(2)), "hit"))
			g.Forget("k")
		})
	})
}

// TestGroupPanicDoChanCtxCrashes checks G5 for DoChanCtx: its waiter is a
// channel waiter, so a panic in fn while one is attached crashes the process.
func TestGroupPanicDoChanCtxCrashes(t *testing.T) {
	if crashtest.InChild(t) {
		var g flight.Group[string, int]
		ch := g.DoChanCtx(t.Context(), "k", func(context.Context) (int, error) { panic(crashMarker) })
		select {
		case r := <-ch:
			t.Logf("received %+v instead of crashing", r)
		case <-time.After(waitLimit):
		}
		return
	}
	requireChildCrash(t)
}

// TestGroupDoChanCtxOneResult races a DoChanCtx waiter's ctx against the
// outcome: whichever wins, the channel receives exactly one Result (G7h).
// A second Result can only come from a bug, so the test cannot fail on
// correct code; it checks every channel once all the calls have ended.
func TestGroupDoChanCtxOneResult(t *testing.T) {
	var g flight.Group[int, int]
	const rounds = 2000
	chans := make([]<-chan flight.Result[int], rounds)
	for i := range rounds {
		ctx, cancel := context.WithCancel(t.Context())
		release := make(chan struct{})
		chans[i] = g.DoChanCtx(ctx, i, func(context.Context) (int, error) {
			<-release
			return 1, nil
		})
		go cancel()
		close(release)
		r := recvWithin(t, chans[i], "the one Result")
		if r.Err != nil {
			require.ErrorIs(t, r.Err, context.Canceled)
		}
		cancel()
	}
	deadline := time.Now().Add(waitLimit)
	for g.InFlight() > 0 {
		require.True(t, time.Now().Before(deadline), "calls still running")
		runtime.Gosched() // bounded by deadline
	}
	for i, ch := range chans {
		select {
		case r := <-ch:
			t.Fatalf("round %d: a second Result %+v", i, r)
		default:
		}
	}
}
