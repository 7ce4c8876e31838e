package flight_test

import (
	"context"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
)

// composite is a key type whose hashing can panic: its interface field may
// hold a slice.
type composite struct {
	id  int
	tag any
}

// TestGroupUnhashableKey checks G11: a key whose hashing panics (an
// interface K holding a slice) panics in its caller, with a message that
// starts with "flight: unhashable key", through every method that takes a key, and the
// group keeps working for every other key, including a call that was
// running meanwhile.
func TestGroupUnhashableKey(t *testing.T) {
	bad := []any{[]int{1}, map[string]int{}, func() {}, composite{1, []byte("x")}, [1]any{[]int{2}}}
	calls := map[string]func(g *flight.Group[any, int], key any){
		"Do":     func(g *flight.Group[any, int], key any) { g.Do(key, func() (int, error) { return 1, nil }) },
		"DoChan": func(g *flight.Group[any, int], key any) { g.DoChan(key, func() (int, error) { return 1, nil }) },
		"DoCtx": func(g *flight.Group[any, int], key any) {
			g.DoCtx(context.Background(), key, func(context.Context) (int, error) { return 1, nil })
		},
		"DoCtx cancellable": func(g *flight.Group[any, int], key any) {
			g.DoCtx(t.Context(), key, func(context.Context) (int, error) { return 1, nil })
		},
		"DoChanCtx": func(g *flight.Group[any, int], key any) {
			g.DoChanCtx(t.Context(), key, func(context.Context) (int, error) { return 1, nil })
		},
		"Forget":         func(g *flight.Group[any, int], key any) { g.Forget(key) },
		"ForgetUnshared": func(g *flight.Group[any, int], key any) { g.ForgetUnshared(key) },
		"Cancel":         func(g *flight.Group[any, int], key any) { g.Cancel(key, nil) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			var g flight.Group[any, int]
			b := newBlocker()
			running := async(func() (int, error, bool) { return g.Do("running", b.fn(7)) })
			b.awaitStart(t)
			for _, key := range bad {
				requirePanicPrefix(t, "flight: unhashable key", func() { call(&g, key) })
			}
			// Every other key keeps working: the lock was never held by
			// the panicking caller.
			done := async(func() (int, error, bool) { return g.Do("other", constant(2)) })
			requireValue(t, recvWithin(t, done, "a Do on another key"), 2, false)
			close(b.release)
			requireValue(t, recvWithin(t, running, "the running call"), 7, false)
			require.Zero(t, g.Registered())
		})
	}
	t.Run("struct key", func(t *testing.T) {
		var g flight.Group[composite, int]
		requirePanicPrefix(t, "flight: unhashable key", func() { g.Do(composite{1, []int{1}}, constant(1)) })
		v, err, _ := g.Do(composite{2, "fine"}, constant(3))
		require.NoError(t, err)
		require.Equal(t, 3, v)
	})
}

// nanKeyCalls makes calls with keys that are not equal to themselves, one
// kind of key (and method) each; each reports the value and whether it was
// shared or left anything registered.
func nanKeyCalls(t *testing.T) map[string]func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
	nan := math.NaN()
	type withNaN struct {
		name string
		f    float64
	}
	var f64 flight.Group[float64, *[64]byte]
	var anyG flight.Group[any, *[64]byte]
	var structG flight.Group[withNaN, *[64]byte]
	var arrayG flight.Group[[2]float32, *[64]byte]
	var cplxG flight.Group[complex128, *[64]byte]
	return map[string]func(fn func() (*[64]byte, error)) (*[64]byte, bool){
		"float64 Do": func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
			v, _, shared := f64.Do(nan, fn)
			return v, shared || f64.Registered() != 0
		},
		"any DoCtx": func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
			v, _, shared := anyG.DoCtx(t.Context(), nan, func(context.Context) (*[64]byte, error) { return fn() })
			return v, shared || anyG.Registered() != 0
		},
		"struct DoChan": func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
			r := <-structG.DoChan(withNaN{"k", nan}, fn)
			return r.Val, r.Shared || structG.Registered() != 0
		},
		"array DoChanCtx": func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
			r := <-arrayG.DoChanCtx(t.Context(), [2]float32{1, float32(nan)}, func(context.Context) (*[64]byte, error) { return fn() })
			return r.Val, r.Shared || arrayG.Registered() != 0
		},
		"complex Do": func(fn func() (*[64]byte, error)) (*[64]byte, bool) {
			v, _, shared := cplxG.Do(complex(0, nan), fn)
			return v, shared || cplxG.Registered() != 0
		},
	}
}

// TestGroupNaNKey checks G11 for keys that are not equal to themselves:
// each call runs fn for its caller alone, unshared and never registered, so
// 1000 calls leave nothing in the group's map and none of their values
// reachable.
func TestGroupNaNKey(t *testing.T) {
	for name, call := range nanKeyCalls(t) {
		t.Run(name, func(t *testing.T) {
			const n = 1000
			var runs int
			collected := make(chan struct{}, n)
			for range n {
				v, _ := call(func() (*[64]byte, error) {
					runs++
					v := new([64]byte)
					runtime.AddCleanup(v, func(ch chan struct{}) { ch <- struct{}{} }, collected)
					return v, nil
				})
				require.NotNil(t, v)
			}
			require.Equal(t, n, runs, "fn runs for every caller")
			// Every value must become unreachable once its caller drops it.
			deadline := time.Now().Add(waitLimit)
			runtime.GC()
			for got := 0; got < n; {
				select {
				case <-collected:
					got++
				case <-time.After(10 * time.Millisecond): // let cleanups run; bounded by deadline
					require.True(t, time.Now().Before(deadline), "only %d of %d values were released", got, n)
					runtime.GC()
				}
			}
		})
	}
	t.Run("no sharing and nothing registered", func(t *testing.T) {
		for name, call := range nanKeyCalls(t) {
			_, sharedOrLeft := call(func() (*[64]byte, error) { return new([64]byte), nil })
			require.False(t, sharedOrLeft, "%s: shared, or left registered", name)
		}
	})
	t.Run("concurrent calls do not join", func(t *testing.T) {
		var g flight.Group[float64, int]
		b1, b2 := newBlocker(), newBlocker()
		r1 := async(func() (int, error, bool) { return g.DoCtx(t.Context(), math.NaN(), b1.fnCtx(1)) })
		b1.awaitStart(t)
		r2 := async(func() (int, error, bool) { return g.DoCtx(t.Context(), math.NaN(), b2.fnCtx(2)) })
		b2.awaitStart(t)
		require.Equal(t, flight.Stats{InFlight: 2, Executions: 2}, g.Stats())
		close(b1.release)
		close(b2.release)
		requireValue(t, recvWithin(t, r1, "first"), 1, false)
		requireValue(t, recvWithin(t, r2, "second"), 2, false)
		require.Zero(t, g.Registered())
	})
	t.Run("a detaching caller abandons at once", func(t *testing.T) {
		g := flight.New[float64, int](flight.WithLinger(time.Hour))
		b := newBlocker()
		ctx, cancel := context.WithCancel(t.Context())
		r := async(func() (int, error, bool) { return g.DoCtx(ctx, math.NaN(), b.fnCtx(1)) })
		fctx := b.awaitStart(t)
		cancel()
		require.ErrorIs(t, recvWithin(t, r, "the caller").err, context.Canceled)
		// Nobody could join it, so it does not linger.
		recvWithin(t, fctx.Done(), "fn's context to be cancelled")
		require.ErrorIs(t, context.Cause(fctx), flight.ErrAbandoned)
		close(b.release)
	})
}
