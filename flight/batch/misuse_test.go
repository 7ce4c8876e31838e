package batch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

// requireBatchPanic checks that f panics with a message that starts with
// "batch: ".
func requireBatchPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		require.NotNil(t, r, "must panic")
		msg, ok := r.(string)
		require.True(t, ok, "panic value %T is not a message", r)
		assert.True(t, strings.HasPrefix(msg, "batch: "), "message %q", msg)
	}()
	f()
}

// TestLoaderMisuse checks that misuse fails loudly at once: a nil fetch, a
// nil context, and bad option values panic with a "batch: " message, and
// leave nothing behind.
func TestLoaderMisuse(t *testing.T) {
	fetch := func(_ context.Context, keys []int) (map[int]string, error) { return vals(keys), nil }
	l := batch.New(fetch)
	var nilCtx context.Context // a variable, so vet and staticcheck let it pass
	cases := map[string]func(){
		"nil fetch":          func() { batch.New[int, string](nil) },
		"nil ctx Load":       func() { _, _ = l.Load(nilCtx, 1) },
		"nil ctx LoadMany":   func() { l.LoadMany(nilCtx, []int{1}) },
		"negative window":    func() { batch.WithWindow(-time.Nanosecond) },
		"negative MaxBatch":  func() { batch.WithMaxBatch(-1) },
		"negative limit":     func() { batch.WithMaxConcurrency(-1) },
		"negative timeout":   func() { batch.WithFetchTimeout(-time.Second) },
		"nil partition":      func() { batch.WithPartition[int](nil) },
		"partition key type": func() { batch.New(fetch, batch.WithPartition(func(string) string { return "" })) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) { requireBatchPanic(t, f) })
	}
	requireRest(t, l)
}

// TestLoaderOptionsInfer checks that options need no type arguments, and
// that zero values are the defaults.
func TestLoaderOptionsInfer(t *testing.T) {
	l := batch.New(func(_ context.Context, keys []string) (map[string]int, error) {
		return map[string]int{keys[0]: len(keys)}, nil
	}, batch.WithWindow(0), batch.WithMaxBatch(0), batch.WithMaxConcurrency(0), batch.WithFetchTimeout(0),
		batch.WithPartition(func(k string) string { return k[:1] }), batch.WithForget(nil), batch.WithPanicHandler(nil))
	n, err := l.Load(t.Context(), "a")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	requireRest(t, l)
}
