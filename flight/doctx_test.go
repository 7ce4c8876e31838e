package flight_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight"
)

type ctxKey struct{}

// requireDone checks that ctx is done now, without waiting.
func requireDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	default:
		require.FailNowf(t, "context not done", "%s", what)
	}
}

// requireLive checks that ctx is not done.
func requireLive(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	require.NoError(t, ctx.Err(), what)
	select {
	case <-ctx.Done():
		require.FailNowf(t, "context done", "%s", what)
	default:
	}
}

// TestGroupDoCtxJoins checks G7a and G10: DoCtx, Do and DoChan callers of
// one key join the same execution, whichever of them started it, and count
// as one set of waiters.
func TestGroupDoCtxJoins(t *testing.T) {
	t.Run("DoCtx joins Do", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			leader := asyncDo(&g, "k", b.fn(1))
			b.awaitStart(t)
			cancellable := asyncDoCtx(t.Context(), &g, "k", b.fnCtx(-1))
			endless := asyncDoCtx(context.Background(), &g, "k", b.fnCtx(-1))
			synctest.Wait()
			close(b.release)
			for _, r := range collect(t, []<-chan result{leader, cancellable, endless}) {
				requireValue(t, r, 1, true)
			}
			require.Equal(t, int32(1), b.calls.Load())
			require.Equal(t, flight.Stats{Executions: 1, Joins: 2}, g.Stats())
		})
	})
	t.Run("DoCtx joins DoChan", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ch := g.DoChan("k", b.fn(2))
			b.awaitStart(t)
			joiner := asyncDoCtx(t.Context(), &g, "k", b.fnCtx(-1))
			synctest.Wait()
			close(b.release)
			requireValue(t, recvWithin(t, joiner, "DoCtx"), 2, true)
			require.Equal(t, flight.Result[int]{Val: 2, Shared: true}, recvWithin(t, ch, "DoChan"))
			require.Equal(t, int32(1), b.calls.Load())
		})
	})
	t.Run("Do and DoChan join DoCtx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			starter := asyncDoCtx(t.Context(), &g, "k", b.fnCtx(3))
			b.awaitStart(t)
			doer := asyncDo(&g, "k", b.fn(-1))
			ch := g.DoChan("k", b.fn(-1))
			other := asyncDoCtx(t.Context(), &g, "k", b.fnCtx(-1))
			synctest.Wait()
			close(b.release)
			for _, r := range collect(t, []<-chan result{starter, doer, other}) {
				requireValue(t, r, 3, true)
			}
			require.Equal(t, flight.Result[int]{Val: 3, Shared: true}, recvWithin(t, ch, "DoChan"))
			require.Equal(t, int32(1), b.calls.Load())
			require.Equal(t, flight.Stats{Executions: 1, Joins: 3}, g.Stats())
		})
	})
}

// TestGroupDoCtxWaiterLeaves checks G7b: a waiter whose ctx ends returns its
// ctx's error at once and detaches, and the call goes on for the others.
func TestGroupDoCtxWaiterLeaves(t *testing.T) {
	for _, tc := range []struct {
		name          string
		starterLeaves bool
	}{
		{"joiner leaves", false},
		{"starter leaves", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				b := newBlocker()
				starterCtx, cancelStarter := context.WithCancelCause(t.Context())
				defer cancelStarter(nil)
				starter := asyncDoCtx(starterCtx, &g, "k", b.fnCtx(1))
				fnCtx := b.awaitStart(t)
				joinerCtx, cancelJoiner := context.WithCancelCause(t.Context())
				defer cancelJoiner(nil)
				joiner := asyncDoCtx(joinerCtx, &g, "k", b.fnCtx(-1))
				synctest.Wait()

				leaving, staying := joiner, starter
				leavingCtx, cancel := joinerCtx, cancelJoiner
				if tc.starterLeaves {
					leaving, staying = starter, joiner
					leavingCtx, cancel = starterCtx, cancelStarter
				}
				cancel(errTest)
				// fn is still blocked, so a return now is prompt.
				r := recvWithin(t, leaving, "the cancelled waiter")
				require.True(t, r.returned)
				require.ErrorIs(t, r.err, context.Canceled)
				require.Equal(t, leavingCtx.Err(), r.err, "ctx.Err(), not its cause")
				require.Zero(t, r.v)
				require.False(t, r.shared)
				require.Equal(t, int32(1), b.calls.Load())

				requireLive(t, fnCtx, "fn's context after one waiter left")
				requireNoValue(t, staying, "the remaining waiter before fn returned")
				close(b.release)
				// Only one caller received the outcome.
				requireValue(t, recvWithin(t, staying, "the remaining waiter"), 1, false)
				require.Equal(t, flight.Stats{Executions: 1, Joins: 1}, g.Stats())
			})
		})
	}
}

// TestGroupDoCtxDeadline checks G7b for a deadline: the waiter returns
// context.DeadlineExceeded itself, exactly when its deadline passes.
func TestGroupDoCtxDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		leader := asyncDo(&g, "k", b.fn(1))
		b.awaitStart(t)

		const d = 5 * time.Second
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		r := recvWithin(t, asyncDoCtx(ctx, &g, "k", b.fnCtx(-1)), "the waiter with a deadline")
		require.Equal(t, d, time.Since(start), "returns when the deadline passes")
		require.True(t, r.returned)
		require.True(t, r.err == context.DeadlineExceeded, "err == context.DeadlineExceeded, got %v", r.err)

		close(b.release)
		requireValue(t, recvWithin(t, leader, "leader"), 1, false)
		require.Zero(t, g.Stats().Abandoned)
	})
}

// TestGroupDoCtxDoneOnEntry checks G7c: a ctx that is already done returns
// its error at once and neither starts nor joins a call.
func TestGroupDoCtxDoneOnEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		fn := func(context.Context) (int, error) {
			t.Error("fn must not run")
			return -1, nil
		}

		cancelled, cancel := context.WithCancelCause(t.Context())
		cancel(errTest)
		v, err, shared := g.DoCtx(cancelled, "k", fn)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, cancelled.Err(), err)
		require.Zero(t, v)
		require.False(t, shared)

		expired, cancel2 := context.WithTimeout(t.Context(), -time.Second)
		defer cancel2()
		_, err, _ = g.DoCtx(expired, "k", fn)
		require.True(t, err == context.DeadlineExceeded, "err == context.DeadlineExceeded, got %v", err)
		require.Equal(t, flight.Stats{}, g.Stats(), "nothing started")

		// With a call in flight for the key, nothing is joined either.
		b := newBlocker()
		leader := asyncDo(&g, "k", b.fn(1))
		b.awaitStart(t)
		_, err, _ = g.DoCtx(cancelled, "k", fn)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, flight.Stats{InFlight: 1, Executions: 1}, g.Stats(), "nothing joined")
		close(b.release)
		requireValue(t, recvWithin(t, leader, "leader"), 1, false)
	})
}

// TestGroupDoCtxFnContext checks G7d: fn's context keeps the starter's
// values for the whole run, is cancelled by no single waiter, and has no
// deadline unless the group has a call timeout.
func TestGroupDoCtxFnContext(t *testing.T) {
	t.Run("starter's values, no waiter's cancel or deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			starterCtx, cancelStarter := context.WithTimeout(context.WithValue(t.Context(), ctxKey{}, "starter"), time.Hour)
			defer cancelStarter()
			starter := asyncDoCtx(starterCtx, &g, "k", b.fnCtx(1))
			fnCtx := b.awaitStart(t)
			joinerCtx, cancelJoiner := context.WithCancel(context.WithValue(t.Context(), ctxKey{}, "joiner"))
			defer cancelJoiner()
			joiner := asyncDoCtx(joinerCtx, &g, "k", b.fnCtx(-1))
			synctest.Wait()

			require.Equal(t, "starter", fnCtx.Value(ctxKey{}))
			_, ok := fnCtx.Deadline()
			require.False(t, ok, "fn's context has no deadline of any waiter")

			cancelStarter()
			recvWithin(t, starter, "the starter")
			requireLive(t, fnCtx, "fn's context after the starter left")
			require.Equal(t, "starter", fnCtx.Value(ctxKey{}), "values outlive the starter")

			close(b.release)
			requireValue(t, recvWithin(t, joiner, "joiner"), 1, false)
			require.Equal(t, "starter", fnCtx.Value(ctxKey{}))
		})
	})
	t.Run("context that cannot end", func(t *testing.T) {
		var g flight.Group[string, int]
		ctx := context.WithValue(context.Background(), ctxKey{}, "starter")
		v, err, _ := g.DoCtx(ctx, "k", func(ctx context.Context) (int, error) {
			require.Equal(t, "starter", ctx.Value(ctxKey{}))
			_, ok := ctx.Deadline()
			require.False(t, ok)
			return 1, ctx.Err()
		})
		require.NoError(t, err)
		require.Equal(t, 1, v)
	})
	for _, tc := range []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{"call timeout", func(t *testing.T) context.Context { return t.Context() }},
		{"call timeout with a context that cannot end", func(*testing.T) context.Context { return context.Background() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const d = 3 * time.Second
				g := flight.New[string, int](flight.WithCallTimeout(d))
				start := time.Now()
				ctx := context.WithValue(tc.ctx(t), ctxKey{}, "starter")
				v, err, _ := g.DoCtx(ctx, "k", func(ctx context.Context) (int, error) {
					// fn may run on another goroutine: assert, not require.
					assert.Equal(t, "starter", ctx.Value(ctxKey{}))
					deadline, ok := ctx.Deadline()
					assert.True(t, ok, "a call timeout sets a deadline")
					assert.Equal(t, start.Add(d), deadline)
					<-ctx.Done()
					assert.Equal(t, d, time.Since(start))
					assert.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)
					return 7, ctx.Err()
				})
				require.True(t, err == context.DeadlineExceeded, "fn's own error, got %v", err)
				require.Equal(t, 7, v)
			})
		})
	}
}

// TestGroupDoCtxAbandon checks G7e: when the last waiter detaches, fn's
// context is cancelled with cause ErrAbandoned and the key is released at
// once; waiters that never detach keep the call alive.
func TestGroupDoCtxAbandon(t *testing.T) {
	t.Run("last waiter leaves", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			b := newBlocker()
			ctxA, cancelA := context.WithCancel(t.Context())
			a := asyncDoCtx(ctxA, &g, "k", b.fnCtx(1))
			fnCtx := b.awaitStart(t)
			ctxB, cancelB := context.WithCancel(t.Context())
			bw := asyncDoCtx(ctxB, &g, "k", b.fnCtx(-1))
			synctest.Wait()

			cancelA()
			recvWithin(t, a, "first waiter")
			requireLive(t, fnCtx, "fn's context while a waiter remains")
			cancelB()
			r := recvWithin(t, bw, "last waiter")
			require.ErrorIs(t, r.err, context.Canceled)

			// Cancelled by the time the last waiter has returned.
			requireDone(t, fnCtx, "fn's context after the last waiter left")
			require.ErrorIs(t, context.Cause(fnCtx), flight.ErrAbandoned)
			require.ErrorIs(t, fnCtx.Err(), context.Canceled)
			require.Equal(t, flight.Stats{InFlight: 1, Executions: 1, Joins: 1, Abandoned: 1}, g.Stats())

			// The key is free: a new caller starts a fresh execution even
			// though the abandoned fn has not returned.
			b2 := newBlocker()
			fresh := asyncDoCtx(t.Context(), &g, "k", b2.fnCtx(2))
			fresh2 := b2.awaitStart(t)
			requireLive(t, fresh2, "the fresh call's context")
			require.NotSame(t, fnCtx, fresh2)

			// The abandoned fn returns: nobody receives its result.
			close(b.release)
			synctest.Wait()
			requireNoValue(t, fresh, "the fresh caller, after the abandoned fn returned")
			close(b2.release)
			requireValue(t, recvWithin(t, fresh, "fresh caller"), 2, false)
			require.Equal(t, int32(1), b.calls.Load())
			require.Equal(t, int32(1), b2.calls.Load())
		})
	})
	t.Run("fn sees the cause", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			started := make(chan struct{})
			cause := make(chan error, 1)
			ctx, cancel := context.WithCancel(t.Context())
			w := asyncDoCtx(ctx, &g, "k", func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				cause <- context.Cause(ctx)
				return 0, ctx.Err()
			})
			recvWithin(t, started, "fn to start")
			cancel()
			recvWithin(t, w, "the waiter")
			require.ErrorIs(t, recvWithin(t, cause, "fn's cause"), flight.ErrAbandoned)
		})
	})
	for _, tc := range []struct {
		name string
		join func(g *flight.Group[string, int], b *blocker) func(t *testing.T)
	}{
		{"Do keeps the call alive", func(g *flight.Group[string, int], b *blocker) func(t *testing.T) {
			ch := asyncDo(g, "k", b.fn(-1))
			return func(t *testing.T) { requireValue(t, recvWithin(t, ch, "Do"), 1, true) }
		}},
		{"DoChan keeps the call alive", func(g *flight.Group[string, int], b *blocker) func(t *testing.T) {
			ch := g.DoChan("k", b.fn(-1))
			return func(t *testing.T) {
				require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvWithin(t, ch, "DoChan"))
			}
		}},
		{"DoCtx with a context that cannot end keeps the call alive", func(g *flight.Group[string, int], b *blocker) func(t *testing.T) {
			ch := asyncDoCtx(context.Background(), g, "k", b.fnCtx(-1))
			return func(t *testing.T) { requireValue(t, recvWithin(t, ch, "DoCtx(Background)"), 1, true) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "Do keeps the call alive" {
			}
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				b := newBlocker()
				ctx, cancel := context.WithCancel(t.Context())
				starter := asyncDoCtx(ctx, &g, "k", b.fnCtx(1))
				fnCtx := b.awaitStart(t)
				check := tc.join(&g, b)
				synctest.Wait()

				cancel()
				recvWithin(t, starter, "the starter")
				requireLive(t, fnCtx, "fn's context with a plain waiter left")

				// Still registered: a newcomer joins the same execution.
				later := asyncDoCtx(t.Context(), &g, "k", b.fnCtx(-1))
				synctest.Wait()
				close(b.release)
				requireValue(t, recvWithin(t, later, "later DoCtx"), 1, true)
				check(t)
				require.Equal(t, int32(1), b.calls.Load())
				require.Equal(t, flight.Stats{Executions: 1, Joins: 2}, g.Stats())
			})
		})
	}
}

// TestGroupDoCtxLinger checks the linger option of G7e: a caller arriving
// within the linger joins the same run; after it, the call is abandoned and
// the next caller starts afresh.
func TestGroupDoCtxLinger(t *testing.T) {
	const linger = 2 * time.Second
	start := func(t *testing.T) (*flight.Group[string, int], *blocker, context.Context) {
		g := flight.New[string, int](flight.WithLinger(linger))
		b := newBlocker()
		ctx, cancel := context.WithCancel(t.Context())
		w := asyncDoCtx(ctx, g, "k", b.fnCtx(1))
		fnCtx := b.awaitStart(t)
		cancel()
		r := recvWithin(t, w, "the leaving waiter")
		require.ErrorIs(t, r.err, context.Canceled, "the waiter leaves at once, linger or not")
		return g, b, fnCtx
	}
	t.Run("caller within the linger joins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, b, fnCtx := start(t)
			time.Sleep(linger - time.Nanosecond)
			synctest.Wait()
			requireLive(t, fnCtx, "fn's context within the linger")
			require.Zero(t, g.Stats().Abandoned)

			again := asyncDoCtx(t.Context(), g, "k", b.fnCtx(-1))
			time.Sleep(10 * linger) // long past the linger
			requireLive(t, fnCtx, "fn's context of a revived call")
			close(b.release)
			requireValue(t, recvWithin(t, again, "the returning caller"), 1, false)
			require.Equal(t, int32(1), b.calls.Load(), "fn ran once")
			require.Equal(t, flight.Stats{Executions: 1, Joins: 1}, g.Stats())
		})
	})
	t.Run("Do within the linger joins", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, b, fnCtx := start(t)
			time.Sleep(linger / 2)
			do := asyncDo(g, "k", b.fn(-1))
			time.Sleep(10 * linger)
			requireLive(t, fnCtx, "fn's context of a call revived by Do")
			close(b.release)
			requireValue(t, recvWithin(t, do, "Do"), 1, false)
			require.Equal(t, int32(1), b.calls.Load())
		})
	})
	t.Run("after the linger the next caller starts afresh", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, b, fnCtx := start(t)
			time.Sleep(linger)
			synctest.Wait()
			requireDone(t, fnCtx, "fn's context after the linger")
			require.ErrorIs(t, context.Cause(fnCtx), flight.ErrAbandoned)
			require.Equal(t, uint64(1), g.Stats().Abandoned)

			b2 := newBlocker()
			fresh := asyncDoCtx(t.Context(), g, "k", b2.fnCtx(2))
			b2.awaitStart(t)
			close(b.release)
			synctest.Wait()
			requireNoValue(t, fresh, "the fresh caller, after the abandoned fn returned")
			close(b2.release)
			requireValue(t, recvWithin(t, fresh, "fresh caller"), 2, false)
			require.Equal(t, int32(1), b.calls.Load())
		})
	})
	t.Run("a returning caller that leaves again restarts the linger", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, b, fnCtx := start(t) // first linger ends at 2s
			time.Sleep(linger / 2)
			ctx, cancel := context.WithCancel(t.Context())
			again := asyncDoCtx(ctx, g, "k", b.fnCtx(-1))
			time.Sleep(linger / 4)
			cancel() // second linger ends at 3.5s
			recvWithin(t, again, "the returning caller")
			time.Sleep(linger * 3 / 4) // 2.5s: past the first linger's end
			synctest.Wait()
			requireLive(t, fnCtx, "fn's context: the first linger no longer counts")
			time.Sleep(linger)
			synctest.Wait()
			requireDone(t, fnCtx, "fn's context after the second linger")
			require.Equal(t, uint64(1), g.Stats().Abandoned)
			close(b.release)
		})
	})
	t.Run("fn returning within the linger", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g, b, _ := start(t)
			close(b.release)
			synctest.Wait()
			require.Zero(t, g.InFlight())
			// The finished call is gone; the next caller runs fn.
			v, err, _ := g.DoCtx(t.Context(), "k", func(context.Context) (int, error) { return 3, nil })
			require.NoError(t, err)
			require.Equal(t, 3, v)
			time.Sleep(linger)
			require.Zero(t, g.Stats().Abandoned, "a finished call is never abandoned")
		})
	})
}

// TestGroupDoCtxGoroutines checks G7f: once fn returns and every waiter is
// answered, no goroutine started for the call remains. (synctest.Test also
// fails any bubble that leaves a goroutine blocked.)
func TestGroupDoCtxGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	g := flight.New[string, int](flight.WithLinger(time.Millisecond), flight.WithCallTimeout(time.Minute))
	// Answered normally.
	b := newBlocker()
	starter := asyncDoCtx(t.Context(), g, "k", b.fnCtx(1))
	b.awaitStart(t)
	joiner := asyncDoCtx(t.Context(), g, "k", b.fnCtx(-1))
	ch := g.DoChan("k", b.fn(-1))
	close(b.release)
	recvWithin(t, starter, "starter")
	recvWithin(t, joiner, "joiner")
	recvWithin(t, ch, "DoChan")

	// Abandoned, with fn returning on its context.
	ctx, cancel := context.WithCancel(t.Context())
	returned := make(chan struct{})
	w := asyncDoCtx(ctx, g, "a", func(ctx context.Context) (int, error) {
		defer close(returned)
		cancel()
		<-ctx.Done()
		return 0, ctx.Err()
	})
	recvWithin(t, w, "abandoning waiter")
	recvWithin(t, returned, "abandoned fn")
}

// TestGroupDoCtxGoroutine checks where DoCtx runs fn: on the caller's
// goroutine when its ctx can never end, on a new one otherwise.
func TestGroupDoCtxGoroutine(t *testing.T) {
	var g flight.Group[string, int]
	caller := goroutineID()
	var ran string
	fn := func(context.Context) (int, error) { ran = goroutineID(); return 1, nil }

	_, err, _ := g.DoCtx(context.Background(), "k", fn)
	require.NoError(t, err)
	require.Equal(t, caller, ran, "context.Background: fn runs inline")

	_, err, _ = g.DoCtx(t.Context(), "k", fn)
	require.NoError(t, err)
	require.NotEqual(t, caller, ran, "a context that can end: fn runs on its own goroutine")
}

// TestGroupMixedWaiters checks G10: on one key, Do, DoChan and DoCtx callers
// are one set of waiters; shared counts those that received the outcome, and
// DoCtx waiters leaving do not abandon a call that plain callers wait for.
func TestGroupMixedWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		ctxA, cancelA := context.WithCancel(t.Context())
		a := asyncDoCtx(ctxA, &g, "k", b.fnCtx(1))
		fnCtx := b.awaitStart(t)
		do := asyncDo(&g, "k", b.fn(-1))
		ch := g.DoChan("k", b.fn(-1))
		ctxB, cancelB := context.WithCancel(t.Context())
		bw := asyncDoCtx(ctxB, &g, "k", b.fnCtx(-1))
		endless := asyncDoCtx(context.Background(), &g, "k", b.fnCtx(-1))
		synctest.Wait()
		require.Equal(t, flight.Stats{InFlight: 1, Executions: 1, Joins: 4}, g.Stats())

		// Every DoCtx waiter that can leave does.
		cancelA()
		cancelB()
		recvWithin(t, a, "first DoCtx")
		recvWithin(t, bw, "second DoCtx")
		requireLive(t, fnCtx, "fn's context with plain waiters left")
		require.Zero(t, g.Stats().Abandoned)

		close(b.release)
		requireValue(t, recvWithin(t, do, "Do"), 1, true)
		requireValue(t, recvWithin(t, endless, "DoCtx(Background)"), 1, true)
		require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvWithin(t, ch, "DoChan"))
		require.Equal(t, int32(1), b.calls.Load())
	})
}

// fn's context ends when fn returns, like a request's context after its
// handler: work fn started with it stops, and its resources are freed.
func TestGroupDoCtxFnContextEndsWithFn(t *testing.T) {
	var g flight.Group[string, int]
	var fnCtx context.Context
	_, err, _ := g.DoCtx(t.Context(), "k", func(ctx context.Context) (int, error) {
		fnCtx = ctx
		requireLive(t, ctx, "while fn runs")
		return 1, nil
	})
	require.NoError(t, err)
	requireDone(t, fnCtx, "after fn returned")
	require.ErrorIs(t, fnCtx.Err(), context.Canceled)
	require.NotErrorIs(t, context.Cause(fnCtx), flight.ErrAbandoned, "a finished call was not abandoned")
}
