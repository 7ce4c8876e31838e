package batch_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
	flightctx "github.com/flightkit/flightkit/flight/ctx"
	"github.com/flightkit/flightkit/flight/forget"
)

// TestLoaderQueuedRetries checks issue 10, item 3: while a batch waits for
// a fetch slot, callers that come and go do not grow it. Here one fetch is
// stuck, a batch with one live key waits for its slot, and another key is
// loaded 100,000 times by callers that each time out: the waiting batch
// holds two entries throughout, not one per retry, and fetches just its two
// keys once the slot frees.
func TestLoaderQueuedRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithMaxConcurrency(1), batch.WithMaxBatch(100))
		stuck := goLoad(l, t.Context(), 1)
		c1 := g.next(t)
		live := goLoad(l, t.Context(), 2) // queued behind the stuck fetch
		synctest.Wait()
		require.Equal(t, 1, batch.Pending(l))

		retries := 100_000
		if testing.Short() || raceEnabled {
			retries = 10_000
		}
		for range retries {
			// Not done on entry; done once every goroutine of the bubble
			// blocks, that is, once this load waits in the queued batch.
			ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
			_, err := l.Load(ctx, 3)
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.LessOrEqual(t, batch.Pending(l), 2, "a retry's entry outlived it")
		}
		last := goLoad(l, t.Context(), 4)
		synctest.Wait()
		assert.Equal(t, 2, batch.Pending(l), "a new key reuses the left key's entry")

		c1.found()
		c2 := g.next(t)
		assert.Equal(t, []int{2, 4}, c2.keys, "the retried key was dropped")
		c2.found()
		assert.Equal(t, "v1", recv(t, stuck).v)
		assert.Equal(t, "v2", recv(t, live).v)
		assert.Equal(t, "v4", recv(t, last).v)
		settle(t, l)
	})
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoaderLoadManyPartitions checks issue 10, item 4: a LoadMany whose
// keys span partitions sizes each partition's batch for its own keys, so
// that it costs about what one partition costs, not a batch the size of all
// the keys per partition.
func TestLoaderLoadManyPartitions(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const n, parts = 10_000, 100
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	rows := vals(keys) // built once: fetch allocates nothing
	fetch := func(context.Context, []int) (map[int]string, error) { return rows, nil }
	load := func(opts ...batch.Option) uint64 {
		l := batch.New(fetch, opts...)
		return allocated(func() {
			require.NoError(t, l.LoadMany(t.Context(), keys).Err())
		})
	}
	one := load()
	many := load(batch.WithPartition(func(k int) string { return fmt.Sprint(k % parts) }))
	t.Logf("LoadMany of %d keys: %d B in one partition, %d B in %d", n, one, many, parts)
	// Partitions add their strings, a map of them and a batch each.
	assert.Less(t, many, 2*one, "each partition's batch must be sized for its own keys")
}

// cleaned returns a channel that receives once *p is unreachable.
func cleaned[T any](p *T) <-chan struct{} {
	ch := make(chan struct{}, 1)
	runtime.AddCleanup(p, func(ch chan struct{}) { ch <- struct{}{} }, ch)
	return ch
}

// requireCollected runs the garbage collector until ch receives, and fails
// if it does not within a bounded number of cycles.
func requireCollected(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	for range 50 {
		runtime.GC()
		select {
		case <-ch:
			return
		case <-time.After(time.Millisecond):
		}
	}
	require.FailNow(t, "still reachable", "%s", what)
}

// requireReachable fails if ch has received: what it watches was
// collected.
func requireReachable(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	select {
	case <-ch:
		require.FailNow(t, "collected too early", "%s", what)
	case <-time.After(time.Millisecond):
	}
}

type payload [1 << 10]byte

// TestLoaderKeptMemory checks issue 10, item 5: a kept outcome keeps only
// itself reachable. With errors kept and values not, one key's kept error
// does not keep the other keys' values, nor fetch's context; Forget(key)
// frees the kept error at once.
func TestLoaderKeptMemory(t *testing.T) {
	var ctxGone, valGone, errGone <-chan struct{}
	l := batch.New(func(ctx context.Context, keys []int) (map[int]*payload, error) {
		ctxGone = cleaned(ctx.(*flightctx.Shared))
		m := make(map[int]*payload, len(keys))
		for _, k := range keys[1:] {
			m[k] = new(payload)
		}
		valGone = cleaned(m[keys[1]])
		err := &keyErr{}
		errGone = cleaned(err)
		return m, batch.KeyErrors[int]{keys[0]: err}
	}, batch.WithForget(forget.Split(0, time.Hour)))

	func() {
		rs := l.LoadMany(t.Context(), []int{1, 2, 3})
		require.Error(t, rs[0].Err)
		require.NotNil(t, rs[1].Val)
	}()
	requireCollected(t, valGone, "a value that was not kept")
	requireCollected(t, ctxGone, "fetch's context")
	requireReachable(t, errGone, "the kept error")

	func() {
		_, err := l.Load(t.Context(), 1)
		var ke *keyErr
		require.ErrorAs(t, err, &ke, "the error is kept")
	}()
	l.Forget(1)
	requireCollected(t, errGone, "the kept error after Forget")
	requireRest(t, l)
}

type keyErr struct{ _ [64]byte }

func (*keyErr) Error() string { return "key failed" }

// BenchmarkLoaderKeep measures what a fetch of 1024 keys costs when a
// forget policy keeps every outcome: B/op is mostly the kept map.
func BenchmarkLoaderKeep(b *testing.B) {
	keys := make([]int, 1024)
	for i := range keys {
		keys[i] = i
	}
	m := vals(keys)
	fetch := func(context.Context, []int) (map[int]string, error) { return m, nil }
	b.ReportAllocs()
	for b.Loop() {
		l := batch.New(fetch, batch.WithForget(forget.After(time.Hour)))
		_ = l.LoadMany(context.Background(), keys)
		for _, k := range keys {
			l.Forget(k) // stops the timer
		}
	}
}
