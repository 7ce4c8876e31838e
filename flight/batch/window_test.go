package batch_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

// TestLoaderWindow checks B3: keys that arrive within the window share one
// fetch, which starts when the window ends; a key after it opens a new one.
func TestLoaderWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = 10 * time.Millisecond
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(window))
		start := time.Now()
		a := goLoad(l, t.Context(), 1)
		time.Sleep(window / 2)
		b := goLoadMany(l, t.Context(), 2, 3)
		c := g.next(t)
		assert.Equal(t, window, time.Since(start), "the fetch starts when the window ends")
		assert.Equal(t, []int{1, 2, 3}, c.keys)

		late := goLoad(l, t.Context(), 4)
		c2 := g.next(t)
		assert.Equal(t, []int{4}, c2.keys, "a key after the window opens a new batch")
		c.found()
		c2.found()
		assert.Equal(t, "v1", recv(t, a).v)
		assert.NoError(t, recv(t, b).res.Err())
		assert.Equal(t, "v4", recv(t, late).v)
		settle(t, l)
	})
}

// TestLoaderNoWindow checks B3's default: no window, so a LoadMany's missing
// keys are one fetch that starts at once.
func TestLoaderNoWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		start := time.Now()
		many := goLoadMany(l, t.Context(), 5, 6, 7)
		c := g.next(t)
		assert.Zero(t, time.Since(start))
		assert.Equal(t, []int{5, 6, 7}, c.keys)
		c.found()
		assert.NoError(t, recv(t, many).res.Err())
		settle(t, l)
	})
}

// TestLoaderMaxBatch checks B3's MaxBatch: at most n keys per fetch, and a
// full batch starts at once, before its window ends.
func TestLoaderMaxBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithMaxBatch(3), batch.WithWindow(time.Second))
		start := time.Now()
		many := goLoadMany(l, t.Context(), 1, 2, 3, 4, 5, 6, 7)
		c1, c2 := g.next(t), g.next(t)
		assert.Zero(t, time.Since(start), "full batches start at once")
		keys := [][]int{c1.keys, c2.keys}
		slices.SortFunc(keys, slices.Compare)
		assert.Equal(t, [][]int{{1, 2, 3}, {4, 5, 6}}, keys)
		c3 := g.next(t)
		assert.Equal(t, time.Second, time.Since(start), "the last batch waits for its window")
		assert.Equal(t, []int{7}, c3.keys)
		for _, c := range []*fetchCall{c1, c2, c3} {
			c.found()
		}
		assert.NoError(t, recv(t, many).res.Err())
		settle(t, l)
	})
}

// TestLoaderMaxConcurrency checks B3's limit: fetches beyond it wait, in
// order, without a goroutine each, and a waiting batch keeps collecting.
func TestLoaderMaxConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithMaxConcurrency(1), batch.WithPartition(func(k int) string {
			return fmt.Sprint(k / 10)
		}))
		first := goLoad(l, t.Context(), 1)
		c1 := g.next(t)
		synctest.Wait()
		before := runtime.NumGoroutine()
		var outs []<-chan outcome
		for _, k := range []int{11, 21, 12, 31, 22} { // three partitions wait
			outs = append(outs, goLoad(l, t.Context(), k))
			synctest.Wait() // queued in this order
		}
		synctest.Wait()
		// At most: a goroutine left by an earlier test may end meanwhile.
		assert.LessOrEqual(t, runtime.NumGoroutine(), before+len(outs), "waiting batches cost no goroutine")
		g.none(t)

		c1.found()
		for _, want := range [][]int{{11, 12}, {21, 22}, {31}} {
			c := g.next(t)
			assert.Equal(t, want, c.keys, "batches run in the order they queued, with the keys they collected")
			synctest.Wait()
			g.none(t)
			c.found()
		}
		assert.Equal(t, "v1", recv(t, first).v)
		for _, ch := range outs {
			assert.NoError(t, recv(t, ch).err)
		}
		settle(t, l)
	})
}

// TestLoaderMaxConcurrencyWindow checks that a batch whose window ends while
// every slot is taken waits for one, and that fetches never exceed the limit.
func TestLoaderMaxConcurrencyWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		running, most := 0, 0
		l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
			return vals(keys), nil
		}, batch.WithMaxConcurrency(2), batch.WithWindow(time.Millisecond), batch.WithMaxBatch(2))
		var wg sync.WaitGroup
		for k := range 40 {
			wg.Go(func() {
				time.Sleep(time.Duration(k%7) * time.Millisecond)
				v, err := l.Load(t.Context(), k)
				assert.NoError(t, err)
				assert.Equal(t, val(k), v)
			})
		}
		wg.Wait()
		assert.Equal(t, 2, most)
		settle(t, l)
	})
}

// TestLoaderPartition checks that keys of different partitions never share
// a fetch, and that a func(any) string works for any key type.
func TestLoaderPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var fetches [][]int
		fetch := func(_ context.Context, keys []int) (map[int]string, error) {
			mu.Lock()
			fetches = append(fetches, keys)
			mu.Unlock()
			return vals(keys), nil
		}
		for _, opt := range []batch.Option{
			batch.WithPartition(func(k int) string { return fmt.Sprint(k % 2) }),
			batch.WithPartition(func(k any) string { return fmt.Sprint(k.(int) % 2) }),
		} {
			fetches = nil
			l := batch.New(fetch, opt, batch.WithWindow(time.Millisecond))
			a := goLoadMany(l, t.Context(), 1, 2, 3, 4)
			b := goLoad(l, t.Context(), 5)
			require.NoError(t, recv(t, a).res.Err())
			require.NoError(t, recv(t, b).err)
			for _, f := range fetches {
				slices.Sort(f) // the two loads race for the batches
			}
			slices.SortFunc(fetches, slices.Compare)
			assert.Equal(t, [][]int{{1, 3, 5}, {2, 4}}, fetches)
			settle(t, l)
		}
	})
}
