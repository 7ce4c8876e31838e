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
	"github.com/flightkit/flightkit/flight/forget"
)

const hedgeAfter = time.Second

// twins is an fn for hedged calls: each execution reports its context on
// started and returns what the test sends to its own finish channel.
type twins struct {
	n       atomic.Int32
	started chan context.Context
	finish  [2]chan func() (int, error)
}

func newTwins() *twins {
	return &twins{
		started: make(chan context.Context, 2),
		finish:  [2]chan func() (int, error){make(chan func() (int, error), 1), make(chan func() (int, error), 1)},
	}
}

func (w *twins) fn(ctx context.Context) (int, error) {
	i := w.n.Add(1) - 1
	w.started <- ctx
	select {
	case f := <-w.finish[i]:
		return f()
	case <-time.After(time.Hour): // bounded; far beyond every test's clock
		return -1, nil
	}
}

// start waits for the next execution to start and returns its context.
func (w *twins) start(t *testing.T, what string) context.Context {
	t.Helper()
	return recvWithin(t, w.started, what)
}

func (w *twins) end(i, v int) { w.finish[i] <- func() (int, error) { return v, nil } }

// requireNoStart checks that no further execution has started.
func (w *twins) requireNoStart(t *testing.T) {
	t.Helper()
	synctest.Wait()
	requireNoValue(t, w.started, "another execution")
}

// hedged is a DoCtx call on key "k" in a group with WithHedge(hedgeAfter)
// and more options, whose fn is a twins.
type hedged struct {
	g       *flight.Group[string, int]
	w       *twins
	r       <-chan result   // the caller
	primary context.Context // the first execution's context
}

// newHedged makes the call with ctx and waits for its first execution.
func newHedged(t *testing.T, ctx context.Context, opts ...flight.Option) *hedged {
	t.Helper()
	h := &hedged{g: flight.New[string, int](append([]flight.Option{flight.WithHedge(hedgeAfter)}, opts...)...), w: newTwins()}
	h.r = asyncDoCtx(ctx, h.g, "k", h.w.fn)
	h.primary = h.w.start(t, "the primary")
	return h
}

// backup waits for the backup execution and returns its context.
func (h *hedged) backup(t *testing.T) context.Context {
	t.Helper()
	return h.w.start(t, "the backup")
}

// TestGroupHedge checks G13's hedge: after d without an outcome, one backup
// execution starts; every waiter gets the first outcome; the other
// execution's context is cancelled with ErrHedgeLost.
func TestGroupHedge(t *testing.T) {
	for _, winner := range []int{1, 0} {
		name := map[int]string{0: "the primary wins", 1: "the backup wins"}[winner]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := flight.New[string, int](flight.WithHedge(hedgeAfter))
				w := newTwins()
				start := time.Now()
				ctx := context.WithValue(t.Context(), ctxKey{}, "starter")
				first := asyncDoCtx(ctx, g, "k", w.fn)
				primary := w.start(t, "the primary")
				early := asyncDoCtx(t.Context(), g, "k", w.fn)
				backup := w.start(t, "the backup")
				require.Equal(t, hedgeAfter, time.Since(start), "the backup starts after d")
				require.Equal(t, "starter", backup.Value(ctxKey{}), "the backup has the starter's values")
				require.NotSame(t, primary, backup)
				late := asyncDo(g, "k", constant(-1)) // joins after the hedge
				synctest.Wait()

				w.end(winner, 10+winner)
				want := 10 + winner
				for _, r := range []<-chan result{first, early, late} {
					requireValue(t, recvWithin(t, r, "a waiter"), want, true)
				}
				lost := [2]context.Context{primary, backup}[1-winner]
				requireDone(t, lost, "the slower execution's context")
				require.ErrorIs(t, context.Cause(lost), flight.ErrHedgeLost)
				won := [2]context.Context{primary, backup}[winner]
				require.ErrorIs(t, context.Cause(won), context.Canceled, "ended with its fn, as any fn's context")
				w.end(1-winner, -2) // dropped
				w.requireNoStart(t)
				s := g.Stats()
				require.Equal(t, flight.Stats{Executions: 2, Joins: 2, Hedges: 1, HedgeWins: uint64(winner)}, s)
			})
		})
	}
	t.Run("an outcome before d starts no backup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			g, w, r := h.g, h.w, h.r
			time.Sleep(hedgeAfter / 2)
			w.end(0, 1)
			requireValue(t, recvWithin(t, r, "the waiter"), 1, false)
			time.Sleep(2 * hedgeAfter)
			w.requireNoStart(t)
			require.Zero(t, g.Stats().Hedges)
		})
	})
	t.Run("at most one backup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			w, r := h.w, h.r
			h.backup(t)
			time.Sleep(10 * hedgeAfter)
			w.requireNoStart(t)
			w.end(0, 1)
			requireValue(t, recvWithin(t, r, "the waiter"), 1, false)
			w.end(1, 2)
		})
	})
	t.Run("a starter whose ctx cannot end", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, context.Background()) // fn still runs on a goroutine of its own
			w, r := h.w, h.r
			h.backup(t)
			w.end(1, 2)
			requireValue(t, recvWithin(t, r, "the starter"), 2, false)
			w.end(0, 1)
		})
	})
	t.Run("Do and DoChan calls are not hedged", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := flight.New[string, int](flight.WithHedge(hedgeAfter))
			b := newBlocker()
			r := asyncDo(g, "k", b.fn(1))
			b.awaitStart(t)
			ctxWaiter := asyncDoCtx(t.Context(), g, "k", constantCtx(2))
			time.Sleep(2 * hedgeAfter)
			require.Equal(t, int32(1), b.calls.Load())
			close(b.release)
			requireValue(t, recvWithin(t, r, "Do"), 1, true)
			requireValue(t, recvWithin(t, ctxWaiter, "DoCtx"), 1, true)
		})
	})
}

// TestGroupHedgeCombined checks how a hedge combines with Cancel, Forget,
// abandonment, linger, the call timeout, panics, Goexit and forget policies.
func TestGroupHedgeCombined(t *testing.T) {
	t.Run("Cancel before d: no backup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			g, w, r, primary := h.g, h.w, h.r, h.primary
			require.True(t, g.Cancel("k", errTest))
			time.Sleep(2 * hedgeAfter)
			w.requireNoStart(t)
			require.ErrorIs(t, context.Cause(primary), errTest)
			w.end(0, 1)
			requireValue(t, recvWithin(t, r, "the waiter"), 1, false)
		})
	})
	t.Run("Cancel after the backup started cancels both", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			g, w, r, primary, backup := h.g, h.w, h.r, h.primary, h.backup(t)
			require.True(t, g.Cancel("k", errTest))
			for _, ctx := range []context.Context{primary, backup} {
				requireDone(t, ctx, "an execution's context")
				require.ErrorIs(t, context.Cause(ctx), errTest)
			}
			w.end(0, 1)
			requireValue(t, recvWithin(t, r, "the waiter"), 1, false)
			w.end(1, 2)
		})
	})
	t.Run("the last waiter leaves: both abandoned", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			h := newHedged(t, ctx)
			w, r, primary := h.w, h.r, h.primary
			backup := w.start(t, "the backup")
			cancel()
			require.ErrorIs(t, recvWithin(t, r, "the waiter").err, context.Canceled)
			for _, ctx := range []context.Context{primary, backup} {
				requireDone(t, ctx, "an execution's context")
				require.ErrorIs(t, context.Cause(ctx), flight.ErrAbandoned)
			}
			w.end(0, 1)
			w.end(1, 2)
		})
	})
	t.Run("no waiter at d (linger): no backup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			h := newHedged(t, ctx, flight.WithLinger(time.Hour))
			g, w, r := h.g, h.w, h.r
			cancel()
			require.ErrorIs(t, recvWithin(t, r, "the waiter").err, context.Canceled)
			time.Sleep(2 * hedgeAfter)
			w.requireNoStart(t)
			// A caller that revives the lingering call waits for the primary.
			r2 := asyncDoCtx(t.Context(), g, "k", w.fn)
			time.Sleep(2 * hedgeAfter)
			w.requireNoStart(t)
			w.end(0, 1)
			requireValue(t, recvWithin(t, r2, "the revived call's waiter"), 1, false)
		})
	})
	t.Run("Forget: the waiters still get a backup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			g, w, r := h.g, h.w, h.r
			g.Forget("k")
			w.start(t, "the backup")
			w.end(1, 2)
			requireValue(t, recvWithin(t, r, "the waiter"), 2, false)
			w.end(0, 1)
		})
	})
	t.Run("the call timeout passes first: no backup, the same deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context(), flight.WithCallTimeout(3*hedgeAfter))
			w, r, primary, backup := h.w, h.r, h.primary, h.backup(t)
			d1, _ := primary.Deadline()
			d2, ok := backup.Deadline()
			require.True(t, ok)
			require.Equal(t, d1, d2, "one deadline for the call")
			<-backup.Done()
			require.True(t, backup.Err() == context.DeadlineExceeded)
			w.end(1, 2)
			requireValue(t, recvWithin(t, r, "the waiter"), 2, false)
			w.end(0, 1)

			h2 := newHedged(t, t.Context(), flight.WithCallTimeout(hedgeAfter/2))
			w2, r2 := h2.w, h2.r
			time.Sleep(2 * hedgeAfter)
			w2.requireNoStart(t)
			w2.end(0, 1)
			requireValue(t, recvWithin(t, r2, "the waiter"), 1, false)
		})
	})
	t.Run("the first outcome panics", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			w, r, backup := h.w, h.r, h.backup(t)
			w.finish[0] <- func() (int, error) { panic(crashMarker) }
			pe, ok := recvWithin(t, r, "the waiter").panicVal.(*flight.PanicError)
			require.True(t, ok, "the waiter panics with a *PanicError")
			require.Equal(t, crashMarker, pe.Value)
			require.ErrorIs(t, context.Cause(backup), flight.ErrHedgeLost)
			w.end(1, 2)
		})
	})
	t.Run("the slower execution panics: the handler gets it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			handled := make(chan *flight.PanicError, 1)
			h := newHedged(t, t.Context(), flight.WithPanicHandler(func(pe *flight.PanicError) { handled <- pe }))
			g, w, r := h.g, h.w, h.r
			h.backup(t)
			w.end(1, 2)
			requireValue(t, recvWithin(t, r, "the waiter"), 2, false)
			w.finish[0] <- func() (int, error) { panic(crashMarker) }
			require.Equal(t, crashMarker, recvWithin(t, handled, "the handler").Value)
			require.Equal(t, uint64(1), g.Stats().Panics)
		})
	})
	t.Run("the first outcome is a Goexit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context())
			w, r := h.w, h.r
			h.backup(t)
			w.finish[1] <- func() (int, error) { runtime.Goexit(); return 0, nil }
			require.ErrorIs(t, recvWithin(t, r, "the waiter").err, flight.ErrGoexit)
			w.end(0, 1)
		})
	})
	t.Run("a forget policy keeps the first outcome", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newHedged(t, t.Context(), flight.WithForget(forget.After(time.Hour)))
			g, w, r := h.g, h.w, h.r
			h.backup(t)
			w.end(1, 2)
			requireValue(t, recvWithin(t, r, "the waiter"), 2, false)
			w.end(0, 1)
			synctest.Wait()
			v, err, shared := g.Do("k", constant(-1))
			require.NoError(t, err)
			require.Equal(t, 2, v, "the retained outcome is the first one")
			require.True(t, shared)
			g.Forget("k")
		})
	})
}
