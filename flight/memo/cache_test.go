package memo_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/internal/crashtest"
	"github.com/flightkit/flightkit/flight/memo"
)

// The tests run in testing/synctest bubbles: time.Sleep moves the fake
// clock exactly, and synctest.Wait lets every goroutine settle.

// refreshAlways makes every call that receives a kept outcome draw a
// refresh: a draw of nearly 1 and a large beta.
var refreshAlways = []memo.Option{memo.WithRand(func() float64 { return math.Nextafter(1, 0) }), memo.WithEarlyRefresh(1e9)}

// loader returns a fn that takes took and returns v, counting its runs.
func loader[V any](took time.Duration, v V, runs *atomic.Int32) func(context.Context) (V, error) {
	return func(context.Context) (V, error) {
		runs.Add(1)
		time.Sleep(took)
		return v, nil
	}
}

type ctxKey struct{}

// Kept outcomes: a call within the window gets the outcome without fn;
// after the window fn runs again; errors follow the policy, context errors
// are never kept, and memory is released after the window whether or not
// the cache is called again.
func TestKeep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := memo.New[string, string](forget.Split(10*time.Second, time.Second), memo.WithEarlyRefresh(0))
		defer c.Close()
		var runs atomic.Int32
		r := c.DoResult(ctx, "k", loader(100*time.Millisecond, "v1", &runs))
		assert.Equal(t, memo.Result[string]{Val: "v1"}, r)
		time.Sleep(3 * time.Second)
		r = c.DoResult(ctx, "k", loader(0, "other", &runs))
		assert.Equal(t, memo.Result[string]{Val: "v1", Shared: true, Age: 3 * time.Second}, r)
		assert.Equal(t, int32(1), runs.Load())
		time.Sleep(7 * time.Second)
		v, _, shared := c.Do(ctx, "k", loader(0, "v2", &runs))
		assert.Equal(t, "v2", v)
		assert.False(t, shared)

		boom := errors.New("boom")
		fail := func(context.Context) (string, error) { runs.Add(1); return "", boom }
		_, err, _ := c.Do(ctx, "e", fail)
		require.ErrorIs(t, err, boom)
		_, err, shared = c.Do(ctx, "e", fail)
		require.ErrorIs(t, err, boom)
		assert.True(t, shared, "kept for a second")
		assert.Equal(t, int32(3), runs.Load())

		for i, cerr := range []error{context.Canceled, context.DeadlineExceeded, flight.ErrAbandoned} {
			key := fmt.Sprint("c", i)
			_, _, _ = c.Do(ctx, key, func(context.Context) (string, error) { return "", cerr })
			_, err, _ := c.Do(ctx, key, func(context.Context) (string, error) { return "ok", nil })
			require.NoError(t, err, "%v was kept", cerr)
		}

		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Zero(t, memo.Kept(c), "released after the windows")
	})
}

// Early refresh: the call that draws it returns the kept value at once,
// as does every call while it runs; one refresh per key at a time; it runs
// detached from its starter (values kept, cancellation not, the call
// timeout applies) and its outcome replaces the kept one.
func TestEarlyRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(10*time.Second, 0),
			append([]memo.Option{memo.WithCallTimeout(time.Hour)}, refreshAlways...)...)
		defer c.Close()
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(100*time.Millisecond, "v1", &runs))
		release := make(chan struct{})
		type seen struct {
			value    any
			err      error
			deadline bool
		}
		saw := make(chan seen, 1)
		refresh := func(ctx context.Context) (string, error) {
			runs.Add(1)
			<-release
			_, dl := ctx.Deadline()
			saw <- seen{ctx.Value(ctxKey{}), ctx.Err(), dl}
			return "v2", nil
		}
		cctx, cancel := context.WithCancel(context.WithValue(t.Context(), ctxKey{}, "starter"))
		v, err, _ := c.Do(cctx, "k", refresh)
		require.NoError(t, err)
		assert.Equal(t, "v1", v, "the starter does not wait")
		cancel()
		for range 3 {
			v, _, _ := c.Do(t.Context(), "k", refresh)
			assert.Equal(t, "v1", v)
		}
		synctest.Wait()
		assert.Equal(t, int32(2), runs.Load(), "one refresh at a time")
		close(release)
		assert.Equal(t, seen{"starter", nil, true}, <-saw)
		synctest.Wait()
		r := c.DoResult(t.Context(), "k", loader(0, "v3", &runs))
		assert.Equal(t, "v2", r.Val)
		assert.Zero(t, r.Age)
	})
}

// A call after the expiry while a refresh that began before it still runs
// gets the expired value, stale, at once.
func TestStaleWhileRefreshing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(10*time.Second, 0), refreshAlways...)
		defer c.Close()
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(100*time.Millisecond, "v1", &runs))
		release := make(chan struct{})
		_, _, _ = c.Do(t.Context(), "k", func(context.Context) (string, error) { <-release; return "v2", nil })
		time.Sleep(11 * time.Second)
		r := c.DoResult(t.Context(), "k", loader(0, "other", &runs))
		assert.Equal(t, memo.Result[string]{Val: "v1", Shared: true, Age: 11 * time.Second, Stale: true}, r)
		close(release)
		synctest.Wait()
		assert.Equal(t, int32(1), runs.Load(), "the stale call ran nothing")
		r = c.DoResult(t.Context(), "k", loader(0, "other", &runs)) // may draw a refresh
		assert.Equal(t, "v2", r.Val)
		assert.False(t, r.Stale)
	})
}

// Stale-if-error: a failed refresh leaves the value, fresh to the end of
// its window; after it, a failed call serves it stale until the
// stale-if-error window ends, then the error; a call after the backend
// recovers replaces it.
func TestStaleIfError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("backend down")
		c := memo.New[string, string](forget.After(10*time.Second),
			append([]memo.Option{memo.WithStaleIfError(30 * time.Second)}, refreshAlways...)...)
		defer c.Close()
		var runs atomic.Int32
		failing := func(context.Context) (string, error) { runs.Add(1); return "", boom }
		_, _, _ = c.Do(t.Context(), "k", loader(100*time.Millisecond, "v1", &runs))
		v, err, _ := c.Do(t.Context(), "k", failing) // draws a refresh, which fails
		require.NoError(t, err)
		assert.Equal(t, "v1", v)
		synctest.Wait()
		assert.Equal(t, int32(2), runs.Load())
		r := c.DoResult(t.Context(), "k", failing)
		assert.Equal(t, "v1", r.Val, "kept, although the policy keeps errors")
		assert.False(t, r.Stale)
		synctest.Wait()

		time.Sleep(15 * time.Second)
		r = c.DoResult(t.Context(), "k", failing)
		require.NoError(t, r.Err)
		assert.Equal(t, "v1", r.Val)
		assert.True(t, r.Stale)
		assert.Equal(t, 15*time.Second, r.Age)

		time.Sleep(30 * time.Second)
		_, err, _ = c.Do(t.Context(), "k", failing)
		require.ErrorIs(t, err, boom)
		time.Sleep(10 * time.Second) // the error's window
		v, err, _ = c.Do(t.Context(), "k", loader(0, "v2", &runs))
		require.NoError(t, err)
		assert.Equal(t, "v2", v)
	})
}

// Close cancels a running refresh (cause ErrClosed) and returns once it
// has ended; later calls return ErrClosed.
func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(10*time.Second, 0), refreshAlways...)
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(time.Millisecond, "v1", &runs))
		cause := make(chan error, 1)
		_, _, _ = c.Do(t.Context(), "k", func(ctx context.Context) (string, error) {
			<-ctx.Done()
			time.Sleep(time.Second) // fn takes a while to stop: Close waits
			cause <- context.Cause(ctx)
			return "", ctx.Err()
		})
		synctest.Wait()
		c.Close()
		select {
		case err := <-cause:
			require.ErrorIs(t, err, memo.ErrClosed)
		default:
			t.Fatal("Close returned before the refresh ended")
		}
		_, err, _ := c.Do(t.Context(), "k", loader(0, "v", &runs))
		require.ErrorIs(t, err, memo.ErrClosed)
		c.Close()
	})
}

// A panic in a refresh reaches the panic handler.
func TestRefreshPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		panics := make(chan *flight.PanicError, 1)
		c := memo.New[string, string](forget.Split(time.Minute, 0),
			append([]memo.Option{memo.WithPanicHandler(func(pe *flight.PanicError) { panics <- pe })}, refreshAlways...)...)
		defer c.Close()
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(time.Millisecond, "v1", &runs))
		v, err, _ := c.Do(t.Context(), "k", func(context.Context) (string, error) { panic("refresh broke") })
		require.NoError(t, err)
		assert.Equal(t, "v1", v)
		pe := <-panics
		assert.Equal(t, "refresh broke", pe.Value)
	})
}

// Misuse panics at once with the package's name; a done ctx returns its
// error and starts nothing.
func TestMisuse(t *testing.T) {
	c := memo.New[string, int](forget.Split(time.Minute, 0))
	defer c.Close()
	fn := func(context.Context) (int, error) { return 1, nil }
	assert.PanicsWithValue(t, "memo: nil fn", func() { c.Do(t.Context(), "k", nil) })
	//lint:ignore SA1012 a nil Context is the misuse under test
	assert.PanicsWithValue(t, "memo: nil Context", func() { c.Do(nil, "k", fn) })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err, _ := c.Do(ctx, "k", func(context.Context) (int, error) { t.Error("fn ran"); return 0, nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.Panics(t, func() { memo.WithEarlyRefresh(-1) })
	assert.Panics(t, func() { memo.WithEarlyRefresh(math.NaN()) })
	assert.Panics(t, func() { memo.WithStaleIfError(-1) })
	assert.Panics(t, func() { memo.WithCallTimeout(-1) })
}

// The XFetch rule, checked statistically: over many draws the share of
// early refreshes is exp(-left/(delta*beta)) within five standard
// deviations, for the rule and for a cache's decision with its own random
// source.
func TestXFetchStatistics(t *testing.T) {
	const draws = 20000
	for _, tc := range []struct {
		left, delta time.Duration
		beta        float64
	}{
		{0, 10 * time.Millisecond, 1},
		{7 * time.Millisecond, 10 * time.Millisecond, 1},
		{30 * time.Millisecond, 10 * time.Millisecond, 1},
		{30 * time.Millisecond, 10 * time.Millisecond, 3},
		{time.Second, 200 * time.Millisecond, 2},
	} {
		want := math.Exp(-float64(tc.left) / (float64(tc.delta) * tc.beta))
		tol := 5*math.Sqrt(want*(1-want)/draws) + 1.0/draws
		c := memo.New[string, int](forget.Split(time.Minute, 0), memo.WithEarlyRefresh(tc.beta))
		rule, cache := 0, 0
		for range draws {
			if memo.XFetch(tc.left, tc.delta, tc.beta, 1-rand.Float64()) {
				rule++
			}
			if memo.Early(c, tc.left, tc.delta) {
				cache++
			}
		}
		c.Close()
		name := fmt.Sprintf("left=%v delta=%v beta=%v", tc.left, tc.delta, tc.beta)
		t.Logf("%s: want %.4f, rule %.4f, cache %.4f (tolerance %.4f)", name, want,
			float64(rule)/draws, float64(cache)/draws, tol)
		assert.InDelta(t, want, float64(rule)/draws, tol, name)
		assert.InDelta(t, want, float64(cache)/draws, tol, name)
	}
}

// Many callers keep one hot key warm for ten windows: it is refreshed
// about once per window, in the background, and no caller ever waits for
// fn after the first.
func TestKeptWarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window, delta = time.Second, 50 * time.Millisecond
		c := memo.New[string, int](forget.Split(window, 0))
		defer c.Close()
		var runs atomic.Int32
		load := func(context.Context) (int, error) {
			n := runs.Add(1)
			time.Sleep(delta)
			return int(n), nil
		}
		_, _, _ = c.Do(t.Context(), "hot", load)
		end := time.Now().Add(10 * window)
		var waited atomic.Int32
		done := make(chan struct{})
		for i := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				for time.Now().Before(end) {
					start := time.Now()
					_, err, _ := c.Do(t.Context(), "hot", load)
					assert.NoError(t, err)
					if time.Since(start) > 0 {
						waited.Add(1)
					}
					time.Sleep(time.Duration(rng.ExpFloat64() * float64(10*time.Millisecond)))
				}
			}()
		}
		for range 8 {
			<-done
		}
		synctest.Wait()
		t.Logf("%d runs of fn over 10 windows", runs.Load())
		assert.Zero(t, waited.Load(), "no call waited (fake time stands still unless a call blocks)")
		assert.GreaterOrEqual(t, runs.Load(), int32(10))
		assert.LessOrEqual(t, runs.Load(), int32(13))
	})
}

// Forget drops a kept outcome at once, so the next call runs fn; a key
// with nothing kept is ignored. Close drops every kept outcome.
func TestForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(time.Minute, 0), memo.WithEarlyRefresh(0))
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(0, "v1", &runs))
		_, _, _ = c.Do(t.Context(), "j", loader(0, "j1", &runs))
		require.Equal(t, 2, memo.Kept(c))
		c.Forget("k")
		c.Forget("absent")
		assert.Equal(t, 1, memo.Kept(c))
		v, _, shared := c.Do(t.Context(), "k", loader(0, "v2", &runs))
		assert.Equal(t, "v2", v)
		assert.False(t, shared)
		assert.Equal(t, int32(3), runs.Load())
		c.Close()
		assert.Zero(t, memo.Kept(c), "Close drops every kept outcome")
	})
}

// A caller whose context ends while fn runs returns ctx.Err() at once; fn
// goes on for the other callers and its outcome is kept. Under
// WithStaleIfError, such a caller gets ctx.Err(), never the stale value.
func TestCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(10*time.Second, 0),
			memo.WithEarlyRefresh(0), memo.WithStaleIfError(time.Minute))
		defer c.Close()
		var runs atomic.Int32
		release := make(chan struct{})
		slow := func(context.Context) (string, error) { runs.Add(1); <-release; return "v1", nil }

		ctx, cancel := context.WithCancel(t.Context())
		other := make(chan string, 1)
		go func() { v, _, _ := c.Do(t.Context(), "k", slow); other <- v }()
		synctest.Wait()
		go func() { time.Sleep(time.Second); cancel() }()
		_, err, _ := c.Do(ctx, "k", slow)
		require.ErrorIs(t, err, context.Canceled)
		close(release)
		assert.Equal(t, "v1", <-other)
		r := c.DoResult(t.Context(), "k", slow)
		assert.Equal(t, memo.Result[string]{Val: "v1", Shared: true}, r, "kept for the others")
		assert.Equal(t, int32(1), runs.Load())

		time.Sleep(11 * time.Second) // expired; within the stale-if-error window
		block := make(chan struct{})
		defer close(block)
		ctx, cancel = context.WithCancel(t.Context())
		go func() { time.Sleep(time.Second); cancel() }()
		r = c.DoResult(ctx, "k", func(context.Context) (string, error) { <-block; return "", errors.New("down") })
		require.ErrorIs(t, r.Err, context.Canceled, "the caller's own end, not the stale value")
		assert.False(t, r.Stale)
	})
}

// Without a panic handler, a panic in a refresh, which no caller waits
// for, crashes the process: it is never swallowed. The crash runs in a
// child process.
func TestRefreshPanicCrash(t *testing.T) {
	const marker = "memo-refresh-crash-marker"
	if crashtest.InChild(t) {
		c := memo.New[string, string](forget.Split(time.Minute, 0), refreshAlways...)
		var runs atomic.Int32
		_, _, _ = c.Do(context.Background(), "k", loader(time.Millisecond, "v1", &runs))
		_, _, _ = c.Do(context.Background(), "k", func(context.Context) (string, error) { panic(marker) })
		select {} // the refresh crashes the process
	}
	crashtest.Require(t, marker, time.Minute)
}

// Far from the expiry the cache skips the draw, and only where no draw
// could start a refresh: the least likely draw, 2^-53, still starts one
// 36 compute times before the expiry.
func TestEarlyFar(t *testing.T) {
	c := memo.New[string, int](forget.Split(time.Minute, 0),
		memo.WithRand(func() float64 { return math.Nextafter(1, 0) }), memo.WithEarlyRefresh(2))
	defer c.Close()
	const delta = 10 * time.Millisecond
	assert.True(t, memo.Early(c, 2*36*delta, delta))
	assert.False(t, memo.Early(c, 2*37*delta, delta))
	assert.False(t, memo.XFetch(2*37*delta, delta, 2, 1-math.Nextafter(1, 0)), "no draw starts one there")
}

// Memory is released without further calls in the corner cases too: an
// outcome whose refresh outlives it and then fails is dropped when the
// refresh ends, and a call that ends after Close keeps nothing.
func TestKeptReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := memo.New[string, string](forget.Split(10*time.Second, 0),
			append([]memo.Option{memo.WithStaleIfError(5 * time.Second)}, refreshAlways...)...)
		var runs atomic.Int32
		_, _, _ = c.Do(t.Context(), "k", loader(time.Millisecond, "v1", &runs))
		_, _, _ = c.Do(t.Context(), "k", func(context.Context) (string, error) {
			time.Sleep(time.Minute) // past the value's window and its stale-if-error window
			return "", errors.New("refresh failed")
		})
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Zero(t, memo.Kept(c), "dropped when its refresh ended")

		release := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, _ = c.Do(t.Context(), "late", func(context.Context) (string, error) { <-release; return "v", nil })
		}()
		synctest.Wait()
		c.Close()
		close(release)
		<-done
		assert.Zero(t, memo.Kept(c), "nothing kept after Close")
	})
}

// Keys that cannot be map keys never jam the cache: a key that cannot be
// hashed panics in its caller with a "memo: " message and every other key
// keeps working; a key that is not equal to itself (a NaN) runs fn for its
// caller alone and is never kept.
func TestKeys(t *testing.T) {
	bounded := func(f func()) (r any) {
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			f()
		}()
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			require.FailNow(t, "jammed") // and leaves c unclosed: Close would hang too
		}
		return r
	}
	one := func(context.Context) (int, error) { return 1, nil }
	c := memo.New[any, int](forget.Split(time.Minute, 0))
	for what, f := range map[string]func(){
		"Do":     func() { c.Do(t.Context(), []int{1}, one) },
		"Forget": func() { c.Forget(map[int]int{}) },
	} {
		assert.Regexp(t, "^memo: ", bounded(f), what)
		assert.Nil(t, bounded(func() {
			v, err, _ := c.Do(t.Context(), what, one)
			assert.NoError(t, err)
			assert.Equal(t, 1, v)
		}), "another key after %s", what)
	}
	c.Close()

	n := memo.New[float64, int](forget.Split(time.Minute, 0))
	defer n.Close()
	var runs atomic.Int32
	for range 3 {
		v, err, shared := n.Do(t.Context(), math.NaN(), func(context.Context) (int, error) { return int(runs.Add(1)), nil })
		require.NoError(t, err)
		assert.Equal(t, int(runs.Load()), v)
		assert.False(t, shared)
	}
	assert.Equal(t, int32(3), runs.Load(), "never kept")
	n.Forget(math.NaN())
	assert.Zero(t, memo.Kept(n))
}
