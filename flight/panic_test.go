package flight_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/internal/crashtest"
)

// crashMarker is the value the crashing fns panic with; the parent looks
// for it in the child's crash report.
const crashMarker = "flight-test-crash-marker"

// requireChildCrash re-runs test t in a child process, where
// crashtest.InChild is true, and checks that the child died of a panic
// carrying crashMarker.
func requireChildCrash(t *testing.T) {
	t.Helper()
	crashtest.Require(t, crashMarker, waitLimit)
}

// requirePanicError checks that r is a panic with a *flight.PanicError
// holding value, and returns it.
func requirePanicError(t *testing.T, r result, value any) *flight.PanicError {
	t.Helper()
	require.False(t, r.returned, "the caller must panic, got v=%v err=%v", r.v, r.err)
	require.False(t, r.exited, "the caller must panic, not exit")
	err, ok := r.panicVal.(error)
	require.True(t, ok, "the panic value %T must be an error", r.panicVal)
	var pe *flight.PanicError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, value, pe.Value)
	require.NotEmpty(t, pe.Stack)
	require.Contains(t, string(pe.Stack), "panic_test.go", "the stack shows where fn panicked")
	if verr, ok := value.(error); ok {
		require.ErrorIs(t, pe, verr, "Unwrap returns an error value")
		require.Equal(t, verr, pe.Unwrap())
	} else {
		require.NoError(t, pe.Unwrap(), "Unwrap is nil for a non-error value")
	}
	return pe
}

// panicking returns an fn that waits for release and panics with value.
func (b *blocker) panicking(value any) func() (int, error) {
	return func() (int, error) {
		b.enter()
		panic(value)
	}
}

// TestGroupPanic checks G5: every Do and DoCtx waiter panics with a
// *PanicError, whoever started the call, and the key is released.
func TestGroupPanic(t *testing.T) {
	wrapped := fmt.Errorf("wrapped: %w", errTest)
	for _, value := range []any{errTest, wrapped, "a string", 42} {
		t.Run(fmt.Sprintf("%T %v", value, value), func(t *testing.T) {
			for _, starter := range []string{"Do", "DoCtx", "DoCtx with a context that cannot end"} {
				t.Run(starter, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						testGroupPanic(t, value, starter)
					})
				})
			}
		})
	}
}

func testGroupPanic(t *testing.T, value any, starter string) {
	var g flight.Group[string, int]
	b := newBlocker()
	fn := b.panicking(value)
	fnCtx := func(context.Context) (int, error) { return fn() }
	var first <-chan result
	switch starter {
	case "Do":
		first = asyncDo(&g, "k", fn)
	case "DoCtx":
		first = asyncDoCtx(t.Context(), &g, "k", fnCtx)
	default:
		first = asyncDoCtx(context.Background(), &g, "k", fnCtx)
	}
	b.awaitStart(t)
	joiners := []<-chan result{
		asyncDo(&g, "k", fn),
		asyncDoCtx(t.Context(), &g, "k", fnCtx),
		asyncDoCtx(context.Background(), &g, "k", fnCtx),
	}
	synctest.Wait()
	close(b.release)

	for _, r := range append([]result{recvWithin(t, first, "starter")}, collect(t, joiners)...) {
		requirePanicError(t, r, value)
	}
	require.Equal(t, flight.Stats{Executions: 1, Joins: 3, Panics: 1}, g.Stats())

	// The key is released: the next call runs its fn.
	v, err, shared := g.Do("k", constant(1))
	require.NoError(t, err)
	require.Equal(t, 1, v)
	require.False(t, shared)
}

// TestGroupPanicHandler checks G5 when every waiter has left: the panic
// goes to the handler, on fn's goroutine, and the key is released.
func TestGroupPanicHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger time.Duration
	}{
		{"abandoned", 0},
		{"lingering", time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				handled := make(chan *flight.PanicError, 1)
				handlerG := make(chan string, 1)
				g := flight.New[string, int](
					flight.WithLinger(tc.linger),
					flight.WithPanicHandler(func(pe *flight.PanicError) {
						handlerG <- goroutineID()
						handled <- pe
					}))
				b := newBlocker()
				ctx, cancel := context.WithCancel(t.Context())
				w := asyncDoCtx(ctx, g, "k", func(ctx context.Context) (int, error) {
					b.enter(ctx)
					panic(errTest)
				})
				b.awaitStart(t)
				cancel()
				r := recvWithin(t, w, "the waiter")
				require.ErrorIs(t, r.err, context.Canceled, "the waiter left before the panic")

				close(b.release)
				pe := recvWithin(t, handled, "the handler")
				require.ErrorIs(t, pe, errTest)
				require.Equal(t, b.goroutine(), recvWithin(t, handlerG, "the handler's goroutine"))
				require.Equal(t, uint64(1), g.Stats().Panics)
				synctest.Wait()
				require.Zero(t, g.InFlight())

				v, err, _ := g.Do("k", constant(1))
				require.NoError(t, err)
				require.Equal(t, 1, v, "the key is released")
			})
		})
	}
	t.Run("not called when a waiter receives the panic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := flight.New[string, int](flight.WithPanicHandler(func(*flight.PanicError) {
				t.Error("the handler must not run")
			}))
			r := recvWithin(t, asyncDoCtx(t.Context(), g, "k", func(context.Context) (int, error) {
				panic(errTest)
			}), "the waiter")
			requirePanicError(t, r, errTest)
		})
	})
}

// TestGroupPanicDoChanCrashes checks G5: a panic with a DoChan waiter
// crashes the process rather than leave the channel unanswered.
func TestGroupPanicDoChanCrashes(t *testing.T) {
	if crashtest.InChild(t) {
		var g flight.Group[string, int]
		ch := g.DoChan("k", func() (int, error) { panic(crashMarker) })
		select {
		case r := <-ch:
			t.Logf("received %+v instead of crashing", r)
		case <-time.After(waitLimit):
		}
		return
	}
	requireChildCrash(t)
}

// TestGroupPanicMixedDoChanCrashes checks G5 and G10: a DoChan waiter that
// joined a Do or DoCtx call makes its panic crash the process too.
func TestGroupPanicMixedDoChanCrashes(t *testing.T) {
	for _, starter := range []string{"Do", "DoCtx"} {
		t.Run(starter, func(t *testing.T) {
			if crashtest.InChild(t) {
				var g flight.Group[string, int]
				b := newBlocker()
				fn := b.panicking(crashMarker)
				var first <-chan result
				if starter == "Do" {
					first = asyncDo(&g, "k", fn)
				} else {
					first = asyncDoCtx(t.Context(), &g, "k", func(context.Context) (int, error) { return fn() })
				}
				b.awaitStart(t)
				ch := g.DoChan("k", fn)
				close(b.release)
				select {
				case r := <-ch:
					t.Logf("received %+v instead of crashing", r)
				case r := <-first:
					t.Logf("the starter got %+v", r)
					<-time.After(waitLimit)
				case <-time.After(waitLimit):
				}
				return
			}
			requireChildCrash(t)
		})
	}
}

// TestGroupPanicAbandonedCrashes checks G5: a panic that no waiter is left
// to receive, in a group without a handler, crashes the process.
func TestGroupPanicAbandonedCrashes(t *testing.T) {
	if crashtest.InChild(t) {
		var g flight.Group[string, int]
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		w := asyncDoCtx(ctx, &g, "k", func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			panic(crashMarker)
		})
		<-started
		cancel()
		r := <-w
		t.Logf("the waiter left with %v", r.err)
		<-time.After(waitLimit)
		return
	}
	requireChildCrash(t)
}

// goexiting returns an fn that waits for release and calls runtime.Goexit.
func (b *blocker) goexiting() func() (int, error) {
	return func() (int, error) {
		b.enter()
		runtime.Goexit()
		return 0, nil
	}
}

// TestGroupGoexit checks G6 and G10: when fn calls runtime.Goexit, Do
// callers exit (as with x/sync), DoCtx and DoChan waiters receive ErrGoexit,
// and the key is released.
func TestGroupGoexit(t *testing.T) {
	for _, starter := range []string{"Do", "DoCtx", "DoChan"} {
		t.Run(starter, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				b := newBlocker()
				fn := b.goexiting()
				fnCtx := func(context.Context) (int, error) { return fn() }
				var first <-chan result
				var firstCh <-chan flight.Result[int]
				switch starter {
				case "Do":
					first = asyncDo(&g, "k", fn)
				case "DoCtx":
					first = asyncDoCtx(t.Context(), &g, "k", fnCtx)
				case "DoChan":
					firstCh = g.DoChan("k", fn)
				}
				b.awaitStart(t)
				do := asyncDo(&g, "k", fn)
				ctxWaiter := asyncDoCtx(t.Context(), &g, "k", fnCtx)
				endless := asyncDoCtx(context.Background(), &g, "k", fnCtx)
				ch := g.DoChan("k", fn)
				synctest.Wait()
				close(b.release)

				switch starter {
				case "Do":
					r := recvWithin(t, first, "the Do starter")
					require.True(t, r.exited, "the Do caller running fn exits: %+v", r)
				case "DoCtx":
					r := recvWithin(t, first, "the DoCtx starter")
					require.True(t, r.returned)
					require.ErrorIs(t, r.err, flight.ErrGoexit)
				case "DoChan":
					require.ErrorIs(t, recvWithin(t, firstCh, "the DoChan starter").Err, flight.ErrGoexit)
				}
				r := recvWithin(t, do, "a Do waiter")
				require.True(t, r.exited, "a Do waiter exits: %+v", r)
				for _, r := range collect(t, []<-chan result{ctxWaiter, endless}) {
					require.True(t, r.returned, "a DoCtx waiter returns: %+v", r)
					require.ErrorIs(t, r.err, flight.ErrGoexit)
					require.Zero(t, r.v)
				}
				require.ErrorIs(t, recvWithin(t, ch, "a DoChan waiter").Err, flight.ErrGoexit)
				require.Equal(t, int32(1), b.calls.Load())

				synctest.Wait()
				require.Zero(t, g.InFlight())
				v, err, _ := g.Do("k", constant(1))
				require.NoError(t, err)
				require.Equal(t, 1, v, "the key is released")
			})
		})
	}
}

// TestGroupGoexitDoCtxInline documents DoCtx with a context that can never
// end: it runs fn on its own goroutine like Do, so a Goexit in fn ends that
// goroutine, as it would without the group.
func TestGroupGoexitDoCtxInline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		r := recvWithin(t, asyncDoCtx(context.Background(), &g, "k", func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		}), "the caller")
		require.True(t, r.exited)
		require.Zero(t, g.InFlight())
	})
}

// TestPanicErrorUnwrap checks G5's PanicError on its own: errors.Is and
// errors.As see through it to an error value.
func TestPanicErrorUnwrap(t *testing.T) {
	var target *os.PathError
	pathErr := &os.PathError{Op: "open", Path: "x", Err: errTest}
	pe := &flight.PanicError{Value: pathErr, Stack: []byte("stack")}
	require.ErrorAs(t, pe, &target)
	require.Same(t, pathErr, target)
	require.ErrorIs(t, pe, errTest)
	require.NotEmpty(t, pe.Error())

	pe = &flight.PanicError{Value: "text"}
	require.NoError(t, pe.Unwrap())
	require.False(t, errors.Is(pe, errTest))
}
