package batch_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

var errDown = errors.New("database down")

// TestLoaderFetchError checks B4: a fetch error reaches every key of the
// batch, errors.Is works, and the error is not kept past the fetch.
func TestLoaderFetchError(t *testing.T) {
	var calls atomic.Int32
	l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
		if calls.Add(1) == 1 {
			return vals(keys), fmt.Errorf("query: %w", errDown) // values ignored
		}
		return vals(keys), nil
	})
	rs := l.LoadMany(t.Context(), []int{1, 2})
	for _, r := range rs {
		require.ErrorIs(t, r.Err, errDown, "key %d", r.Key)
		assert.Empty(t, r.Val)
	}
	require.ErrorIs(t, rs.Err(), errDown)

	v, err := l.Load(t.Context(), 1)
	require.NoError(t, err, "the failure was not cached")
	assert.Equal(t, "v1", v)
	assert.Equal(t, int32(2), calls.Load())
	requireRest(t, l)
}

// TestLoaderKeyErrors checks B4's per-key errors: a KeyErrors, returned or
// wrapped, fails only the keys it lists.
func TestLoaderKeyErrors(t *testing.T) {
	errGone := errors.New("row deleted")
	for name, wrap := range map[string]func(error) error{
		"returned": func(err error) error { return err },
		"wrapped":  func(err error) error { return fmt.Errorf("users: %w", err) },
	} {
		t.Run(name, func(t *testing.T) {
			l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
				m := vals(keys)
				delete(m, 3)
				delete(m, 4)
				return m, wrap(batch.KeyErrors[int]{2: errGone, 3: errGone, 4: nil, 99: errGone})
			})
			rs := l.LoadMany(t.Context(), []int{1, 2, 3, 4})
			assert.Equal(t, "v1", rs[0].Val)
			assert.NoError(t, rs[0].Err)
			assert.ErrorIs(t, rs[1].Err, errGone, "an error wins over a value")
			assert.ErrorIs(t, rs[2].Err, errGone)
			assert.ErrorIs(t, rs[3].Err, batch.ErrNotFound, "a nil error is no error")
			assert.Equal(t, map[int]string{1: "v1"}, maps.Collect(rs.Values()))
			requireRest(t, l)
		})
	}
}

// TestKeyErrors checks the KeyErrors error type: a message that does not
// depend on map order, and Unwrap for errors.Is.
func TestKeyErrors(t *testing.T) {
	errs := batch.KeyErrors[string]{"b": errDown, "a": batch.ErrNotFound, "c": nil}
	for range 5 {
		assert.Equal(t, "batch: 3 keys failed: a: batch: not found; b: database down; c: <nil>", errs.Error())
	}
	assert.Equal(t, "batch: 1 key failed: 7: database down", batch.KeyErrors[int]{7: errDown}.Error())
	require.ErrorIs(t, errs, errDown)
	require.ErrorIs(t, errs, batch.ErrNotFound)
	assert.Len(t, errs.Unwrap(), 2, "nil errors are left out")
}

// TestResults checks the Results helpers: Err is a nil error when every
// key loaded, and Values stops when the loop does.
func TestResults(t *testing.T) {
	rs := batch.Results[int, string]{{Key: 1, Val: "a"}, {Key: 2, Err: batch.ErrNotFound}, {Key: 3, Val: "c"}}
	require.Error(t, rs.Err())
	require.NoError(t, rs[:1].Err())
	assert.True(t, rs[:1].Err() == nil, "a nil interface, not a nil map in one")
	var seen []int
	for k := range rs.Values() {
		seen = append(seen, k)
		break
	}
	assert.Equal(t, []int{1}, seen)
	assert.Equal(t, map[int]string{1: "a", 3: "c"}, maps.Collect(rs.Values()))
}
