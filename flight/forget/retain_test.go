package forget_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

const window = time.Second

// counter is an fn that counts its executions and returns their number.
type counter struct{ n atomic.Int64 }

func (c *counter) value() (int64, error) { return c.n.Add(1), nil }

func (c *counter) fail(err error) func() (int64, error) {
	return func() (int64, error) { return c.n.Add(1), err }
}

func TestRetainWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wait   time.Duration
		reused bool
	}{
		{"inside", window / 2, true},
		{"just before the edge", window - time.Nanosecond, true},
		{"at the edge", window, false},
		{"after", 2 * window, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := flight.New[string, int64](flight.WithForget(forget.After(window)))
				var c counter
				v, err, shared := g.Do("k", c.value)
				require.NoError(t, err)
				require.Equal(t, int64(1), v)
				assert.False(t, shared, "a lone caller's result is not shared")

				time.Sleep(tc.wait)
				synctest.Wait() // let an expiring window finish its work

				v, err, shared = g.Do("k", c.value)
				require.NoError(t, err)
				if tc.reused {
					assert.Equal(t, int64(1), v, "the retained value")
					assert.True(t, shared, "a retained result is shared")
					assert.Equal(t, int64(1), c.n.Load(), "fn must not run again")
					assert.Equal(t, uint64(1), g.Stats().Hits)
				} else {
					assert.Equal(t, int64(2), v, "a fresh execution")
					assert.False(t, shared)
				}
			})
		})
	}
}

func TestRetainPerOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.New[string, int64](flight.WithForget(forget.Split(window, 0)))
		var c counter
		_, err, _ := g.Do("err", c.fail(errBoom))
		require.ErrorIs(t, err, errBoom)
		_, err, _ = g.Do("err", c.fail(errBoom))
		require.ErrorIs(t, err, errBoom)
		assert.Equal(t, int64(2), c.n.Load(), "errors are forgotten at once under Split(d, 0)")

		v, _, _ := g.Do("val", c.value)
		v2, _, shared := g.Do("val", c.value)
		assert.Equal(t, v, v2, "values are kept")
		assert.True(t, shared)
	})
}

func TestContextErrorsNeverRetained(t *testing.T) {
	for _, err := range []error{
		context.Canceled,
		context.DeadlineExceeded,
		fmt.Errorf("query: %w", context.DeadlineExceeded),
		flight.ErrAbandoned,
	} {
		t.Run(err.Error(), func(t *testing.T) {
			g := flight.New[string, int64](flight.WithForget(forget.After(time.Hour)))
			var c counter
			g.Do("k", c.fail(err))
			_, got, _ := g.Do("k", c.fail(err))
			require.ErrorIs(t, got, err)
			assert.Equal(t, int64(2), c.n.Load(), "fn must run again")
		})
	}
}

func TestEvictRetained(t *testing.T) {
	evictions := map[string]func(g *flight.Group[string, int64]){
		"Forget": func(g *flight.Group[string, int64]) { g.Forget("k") },
		"ForgetUnshared": func(g *flight.Group[string, int64]) {
			assert.True(t, g.ForgetUnshared("k"), "a retained result has no waiters")
		},
		"Cancel": func(g *flight.Group[string, int64]) {
			assert.False(t, g.Cancel("k", nil), "nothing runs to be cancelled")
		},
	}
	for name, evict := range evictions {
		t.Run(name, func(t *testing.T) {
			g := flight.New[string, int64](flight.WithForget(forget.After(time.Hour)))
			var c counter
			g.Do("k", c.value)
			evict(g)
			v, _, shared := g.Do("k", c.value)
			assert.Equal(t, int64(2), v, "the retained value must not be served after %s", name)
			assert.False(t, shared)
		})
	}
}

// TestEvictReleasesMemory checks F3's "at once": eviction stops the
// retention timer, which would otherwise keep the outcome reachable for the
// rest of its window.
func TestEvictReleasesMemory(t *testing.T) {
	evictions := map[string]func(g *flight.Group[string, *[1 << 10]byte]){
		"Forget":         func(g *flight.Group[string, *[1 << 10]byte]) { g.Forget("k") },
		"ForgetUnshared": func(g *flight.Group[string, *[1 << 10]byte]) { g.ForgetUnshared("k") },
		"Cancel":         func(g *flight.Group[string, *[1 << 10]byte]) { g.Cancel("k", nil) },
	}
	for name, evict := range evictions {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := flight.New[string, *[1 << 10]byte](flight.WithForget(forget.After(time.Hour)))
				w := retainWeak(g)
				evict(g)
				// A stopped timer leaves the runtime's timer heap lazily,
				// when timers are next checked: let the bubble's clock move
				// a minute, well inside the hour for which a timer left
				// running would keep the outcome.
				for range 60 {
					runtime.GC()
					if w.Value() == nil {
						return
					}
					time.Sleep(time.Second)
				}
				t.Errorf("the outcome is still reachable a minute after %s", name)
			})
		})
	}
}

// retainWeak has g retain an outcome under "k" and returns a weak pointer to
// it, keeping no strong one.
func retainWeak(g *flight.Group[string, *[1 << 10]byte]) weak.Pointer[[1 << 10]byte] {
	var w weak.Pointer[[1 << 10]byte]
	g.Do("k", func() (*[1 << 10]byte, error) {
		v := new([1 << 10]byte)
		w = weak.Make(v)
		return v, nil
	})
	return w
}

func TestRetainedHitEveryEntryPoint(t *testing.T) {
	g := flight.New[string, *int](flight.WithForget(forget.After(time.Hour)))
	want := new(int)
	first, _, _ := g.Do("k", func() (*int, error) { return want, nil })
	fail := func() (*int, error) { t.Error("fn ran despite a retained result"); return nil, nil }

	v, _, shared := g.DoCtx(t.Context(), "k", func(context.Context) (*int, error) { return fail() })
	assert.Same(t, first, v)
	assert.True(t, shared)

	r := <-g.DoChan("k", fail)
	assert.Same(t, first, r.Val)
	assert.True(t, r.Shared)
	assert.Equal(t, 0, g.InFlight())
}

// A result that arrives after every waiter left is not retained.
func TestAbandonedResultNotRetained(t *testing.T) {
	g := flight.New[string, int64](flight.WithForget(forget.After(time.Hour)))
	started, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		defer close(finished)
		_, err, _ := g.DoCtx(ctx, "k", func(context.Context) (int64, error) {
			close(started)
			<-release
			return 1, nil // a value, but nobody is left to want it
		})
		assert.ErrorIs(t, err, context.Canceled)
	}()
	<-started
	cancel()
	<-finished
	close(release)
	require.Eventually(t, func() bool { return g.InFlight() == 0 }, 5*time.Second, time.Millisecond)

	var c counter
	v, _, _ := g.Do("k", c.value)
	assert.Equal(t, int64(1), v, "fn must run afresh")
	assert.Equal(t, int64(1), c.n.Load())
}

// A result whose call was cancelled or forgotten during the run is not
// retained, and its waiters still receive it.
func TestEvictDuringRun(t *testing.T) {
	for _, name := range []string{"Forget", "Cancel"} {
		t.Run(name, func(t *testing.T) {
			g := flight.New[string, int64](flight.WithForget(forget.After(time.Hour)))
			started, release := make(chan struct{}), make(chan struct{})
			res := make(chan int64, 1)
			go func() {
				v, _, _ := g.DoCtx(t.Context(), "k", func(context.Context) (int64, error) {
					close(started)
					<-release
					return 7, nil
				})
				res <- v
			}()
			<-started
			if name == "Forget" {
				g.Forget("k")
			} else {
				assert.True(t, g.Cancel("k", nil))
			}
			close(release)
			select {
			case v := <-res:
				assert.Equal(t, int64(7), v, "the waiter keeps its result")
			case <-time.After(5 * time.Second):
				t.Fatal("waiter hangs")
			}
			var c counter
			v, _, _ := g.Do("k", c.value)
			assert.Equal(t, int64(1), v, "the result of a %s call is not retained", name)
		})
	}
}

// F4: a retained result holds no goroutine and is released after its window
// without anyone calling the group again.
func TestRetainedMemoryReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.New[string, *[1 << 16]byte](flight.WithForget(forget.After(window)))
		for i := range 100 {
			g.Do(fmt.Sprint(i), func() (*[1 << 16]byte, error) { return new([1 << 16]byte), nil })
		}
		time.Sleep(window)
		synctest.Wait()
		// Nothing is retained now: every key runs fn again.
		for i := range 100 {
			_, _, shared := g.Do(fmt.Sprint(i), func() (*[1 << 16]byte, error) { return nil, nil })
			require.False(t, shared, "key %d still retained after its window", i)
		}
	})
}

func TestRetainedHitAllocs(t *testing.T) {
	g := flight.New[string, int64](flight.WithForget(forget.After(time.Hour)))
	var c counter
	fn := c.value // a method value allocates; make it once
	g.Do("k", fn)
	allocs := testing.AllocsPerRun(100, func() { g.Do("k", fn) })
	assert.Zero(t, allocs, "a hit on a retained result allocates nothing")
}
