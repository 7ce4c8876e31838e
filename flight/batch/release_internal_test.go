package batch

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReleaseUnlocked checks issue 10, item 8: when the last waiter of a
// running batch leaves, fetch's context is cancelled (with the whole tree
// of contexts derived from it) after the loader's lock is released, for
// Load and for LoadMany, so that a fetch with many derived contexts never
// stalls other loads. releaseHook runs just before the cancellation and
// reports whether the lock was free then.
func TestReleaseUnlocked(t *testing.T) {
	synctest.Test(t, testReleaseUnlocked)
}

func testReleaseUnlocked(t *testing.T) {
	started := make(chan struct{}, 2)
	ended := make(chan struct{}, 2)
	l := New(func(ctx context.Context, keys []int) (map[int]int, error) {
		defer func() { ended <- struct{}{} }()
		started <- struct{}{}
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}, WithMaxBatch(1))
	free := make(chan bool, 2)
	releaseHook = func() {
		ok := l.mu.TryLock()
		if ok {
			l.mu.Unlock()
		}
		free <- ok
	}
	defer func() { releaseHook = nil }()

	for _, tc := range []struct {
		name    string
		load    func(ctx context.Context)
		batches int
	}{
		{"Load", func(ctx context.Context) { _, _ = l.Load(ctx, 1) }, 1},
		{"LoadMany", func(ctx context.Context) { l.LoadMany(ctx, []int{1, 2}) }, 2},
	} {
		ctx, cancel := context.WithCancel(t.Context())
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			tc.load(ctx)
		}()
		for range tc.batches {
			recvWithin(t, started, tc.name+": fetch starts")
		}
		cancel()
		recvWithin(t, returned, tc.name+": the load returns")
		for range tc.batches {
			assert.True(t, recvWithin(t, free, tc.name+": abandoned"),
				"%s: fetch's context was cancelled under the loader's lock", tc.name)
			recvWithin(t, ended, tc.name+": the abandoned fetch ends")
		}
	}
}

func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		require.FailNow(t, "timed out", what)
		var zero T
		return zero
	}
}
