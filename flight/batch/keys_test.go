package batch_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
	"github.com/flightkit/flightkit/flight/forget"
)

// bounded runs f on its own goroutine and fails the test if f has not
// returned within waitLimit: a jammed loader must fail a test, not hang it.
// It returns what f panicked with, if anything.
func bounded(t *testing.T, what string, f func()) (panicked any) {
	t.Helper()
	ch := make(chan any, 1)
	go func() {
		defer func() { ch <- recover() }()
		f()
	}()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitLimit):
		require.FailNow(t, "hangs", "%s", what)
		return nil
	}
}

// requireBoundedPanic checks that f panics, without hanging, with a
// message that starts with "batch: ".
func requireBoundedPanic(t *testing.T, what string, f func()) {
	t.Helper()
	r := bounded(t, what, f)
	require.NotNil(t, r, "%s must panic", what)
	msg, ok := r.(string)
	require.True(t, ok, "%s: the panic value %T is not a message: %v", what, r, r)
	assert.Regexp(t, "^batch: ", msg, what)
}

type structKey struct {
	id  int
	tag any
}

// TestLoaderUnhashableKey checks issue 10, item 1: a key that cannot be
// hashed (an interface key holding a slice) panics in its caller with a
// "batch: " message, loads nothing, and leaves the loader working for
// every other key.
func TestLoaderUnhashableKey(t *testing.T) {
	l := batch.New(func(_ context.Context, keys []any) (map[any]string, error) {
		m := make(map[any]string, len(keys))
		for _, k := range keys {
			m[k] = "v"
		}
		return m, nil
	})
	ctx := t.Context()
	bad := []any{[]int{1}, map[string]int{}, structKey{1, []byte("x")}, [1]any{func() {}}}
	for _, k := range bad {
		requireBoundedPanic(t, "Load", func() { _, _ = l.Load(ctx, k) })
		requireBoundedPanic(t, "LoadMany", func() { l.LoadMany(ctx, []any{1, k, 2}) })
		requireBoundedPanic(t, "Forget", func() { l.Forget(k) })
		requireRest(t, l) // LoadMany took none of its keys
	}
	r := bounded(t, "loads after the bad keys", func() {
		v, err := l.Load(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "v", v)
		require.NoError(t, l.LoadMany(ctx, []any{1, "a", structKey{2, 3}}).Err())
		l.Forget(1)
	})
	require.Nil(t, r)
	requireRest(t, l)
}

// TestLoaderZero checks issue 10, item 1 for the zero Loader: every method
// panics at once with a "batch: " message; none hangs, and none leaves the
// loader jammed for the next call.
func TestLoaderZero(t *testing.T) {
	var l batch.Loader[int, string]
	for range 2 {
		requireBoundedPanic(t, "Load", func() { _, _ = l.Load(t.Context(), 1) })
		requireBoundedPanic(t, "LoadMany", func() { l.LoadMany(t.Context(), []int{1, 2}) })
		requireBoundedPanic(t, "LoadMany of none", func() { l.LoadMany(t.Context(), nil) })
		requireBoundedPanic(t, "Forget", func() { l.Forget(1) })
	}
}

// TestLoaderNaNKeys checks issue 10, item 2: a key that is not equal to
// itself (NaN, or a struct, array or interface holding one) is fetched for
// its caller alone, in a batch of its own, gets ErrNotFound (no map can
// find it), is never kept, and leaves nothing behind, however often it is
// loaded.
func TestLoaderNaNKeys(t *testing.T) {
	nan := math.NaN()
	t.Run("float64", func(t *testing.T) { testNaNKeys(t, nan, 1) })
	t.Run("struct", func(t *testing.T) {
		type k struct {
			id int
			f  float32
		}
		testNaNKeys(t, k{1, float32(nan)}, k{1, 1})
	})
	t.Run("array", func(t *testing.T) { testNaNKeys(t, [2]float64{1, nan}, [2]float64{1, 2}) })
	t.Run("interface", func(t *testing.T) { testNaNKeys[any](t, nan, 1.5) })
	t.Run("complex", func(t *testing.T) { testNaNKeys(t, complex(nan, 0), 1i) })
}

func testNaNKeys[K comparable](t *testing.T, nan, good K) {
	synctest.Test(t, func(t *testing.T) {
		var fetches, alone atomic.Int32
		l := batch.New(func(_ context.Context, keys []K) (map[K]int, error) {
			fetches.Add(1)
			m := map[K]int{}
			for _, k := range keys {
				if !equal(k, k) {
					alone.Add(1)
					assert.Len(t, keys, 1, "a NaN key is fetched alone")
				}
				m[k] = 7 // never found for a NaN key
			}
			return m, nil
		}, batch.WithWindow(time.Millisecond), batch.WithForget(forget.After(time.Hour)))
		for range 1000 {
			_, err := l.Load(t.Context(), nan)
			require.ErrorIs(t, err, batch.ErrNotFound)
		}
		assert.Equal(t, int32(1000), fetches.Load(), "never joined, never kept")
		synctest.Wait()
		requireRest(t, l) // nothing left behind: no key, no kept outcome, no timer

		rs := l.LoadMany(t.Context(), []K{good, nan, good, nan})
		require.NoError(t, rs[0].Err)
		assert.Equal(t, 7, rs[0].Val)
		require.ErrorIs(t, rs[1].Err, batch.ErrNotFound)
		require.ErrorIs(t, rs[3].Err, batch.ErrNotFound)
		assert.Equal(t, int32(1003), fetches.Load(), "the good key once, each NaN alone")
		assert.Equal(t, int32(1002), alone.Load())
		l.Forget(nan) // never registered: nothing to do
		l.Forget(good)
		synctest.Wait()
		requireRest(t, l)
	})
}

func equal[K comparable](a, b K) bool { return a == b }
