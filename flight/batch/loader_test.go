package batch_test

import (
	"context"
	"maps"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

// TestLoaderLoad checks B1 for Load: the value fetch returned, ErrNotFound
// for a key it left out, and no harm from keys nobody asked for.
func TestLoaderLoad(t *testing.T) {
	l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
		m := vals(keys)
		delete(m, 2)
		m[99] = "nobody asked" // harmless
		return m, nil
	})
	v, err := l.Load(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, "v1", v)

	v, err = l.Load(t.Context(), 2)
	require.ErrorIs(t, err, batch.ErrNotFound)
	assert.Empty(t, v)

	_, err = l.Load(t.Context(), 99)
	require.NoError(t, err, "99 was fetched for its own sake this time")
	requireRest(t, l)
}

// TestLoaderLoadMany checks B1 and B2 for LoadMany: one Result per key in
// order, duplicates included, from one fetch that saw each key once.
func TestLoaderLoadMany(t *testing.T) {
	var fetches [][]int
	l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
		fetches = append(fetches, keys)
		m := vals(keys)
		delete(m, 3)
		return m, nil
	})
	rs := l.LoadMany(t.Context(), []int{2, 1, 3, 2, 1})
	require.Equal(t, [][]int{{2, 1, 3}}, fetches, "one fetch, each key once, in order of first appearance")
	require.Len(t, rs, 5)
	for i, k := range []int{2, 1, 3, 2, 1} {
		assert.Equal(t, k, rs[i].Key)
		if k == 3 {
			assert.ErrorIs(t, rs[i].Err, batch.ErrNotFound)
			continue
		}
		assert.NoError(t, rs[i].Err)
		assert.Equal(t, val(k), rs[i].Val)
	}
	assert.Equal(t, map[int]string{1: "v1", 2: "v2"}, maps.Collect(rs.Values()))
	var errs batch.KeyErrors[int]
	require.ErrorAs(t, rs.Err(), &errs)
	assert.Equal(t, batch.KeyErrors[int]{3: batch.ErrNotFound}, errs)
	require.ErrorIs(t, rs.Err(), batch.ErrNotFound)

	assert.Nil(t, l.LoadMany(t.Context(), nil), "no keys: no results")
	assert.Len(t, fetches, 1, "no keys: no fetch")
	requireRest(t, l)
}

// TestLoaderJoin checks B2: a key in flight is joined by Load and LoadMany,
// never fetched a second time while its fetch runs, while a new key is.
func TestLoaderJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch)
		first := goLoadMany(l, t.Context(), 1, 2)
		c1 := g.next(t)
		require.Equal(t, []int{1, 2}, c1.keys)

		one := goLoad(l, t.Context(), 1)
		many := goLoadMany(l, t.Context(), 2, 3, 1)
		c2 := g.next(t)
		require.Equal(t, []int{3}, c2.keys, "only the key not in flight is fetched")
		synctest.Wait()
		require.Equal(t, 3, batch.Waiters(l, 1))
		require.Equal(t, 2, batch.Waiters(l, 2))

		c2.found()
		c1.found()
		assert.Equal(t, "v1", recv(t, one).v)
		assert.NoError(t, recv(t, first).res.Err())
		rs := recv(t, many).res
		require.NoError(t, rs.Err())
		assert.Equal(t, []string{"v2", "v3", "v1"}, []string{rs[0].Val, rs[1].Val, rs[2].Val})
		g.none(t)
		settle(t, l)
	})
}

// TestLoaderJoinPending checks B2 for a key still pending in a collecting
// window: a second load of it joins the batch instead of adding the key
// again.
func TestLoaderJoinPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(time.Millisecond))
		a := goLoad(l, t.Context(), 1)
		b := goLoadMany(l, t.Context(), 1, 2, 1)
		c := g.next(t)
		require.Equal(t, []int{1, 2}, c.keys)
		c.found()
		assert.Equal(t, "v1", recv(t, a).v)
		assert.NoError(t, recv(t, b).res.Err())
		settle(t, l)
	})
}

// TestAnchorDuplicateKeys is the regression test for anchor bug 2: with
// their cache off, dataloader and dataloadgen pass a key to fetch as often
// as it was loaded in the window. A Loader has no cache and never does.
func TestAnchorDuplicateKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
			calls.Add(1)
			seen := map[int]bool{}
			for _, k := range keys {
				assert.False(t, seen[k], "key %d passed to fetch twice", k)
				seen[k] = true
			}
			return vals(keys), nil
		}, batch.WithWindow(time.Millisecond))
		var outs []<-chan outcome
		for range 3 {
			outs = append(outs, goLoad(l, t.Context(), 7), goLoadMany(l, t.Context(), 7, 8, 7, 8))
		}
		for _, ch := range outs {
			o := recv(t, ch)
			require.NoError(t, o.err)
			require.NoError(t, o.res.Err())
		}
		assert.Equal(t, int32(1), calls.Load(), "one window, one fetch")
		settle(t, l)
	})
}

// TestLoaderManyWaiters checks that every waiter of a big batch gets its
// value: the loads that made the batch, and loads that join its keys while
// it runs (waiters of a big batch wait on several channels).
func TestLoaderManyWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithWindow(time.Millisecond))
		var outs []<-chan outcome
		for k := range 40 {
			outs = append(outs, goLoad(l, t.Context(), k))
		}
		c1 := g.next(t)
		require.Len(t, c1.keys, 40)
		keys := make([]int, 80)
		for i := range keys {
			keys[i] = i // 0-39 join c1's fetch; 40-79 are the next batch
		}
		many := goLoadMany(l, t.Context(), keys...)
		c2 := g.next(t)
		for k := 40; k < 80; k++ {
			outs = append(outs, goLoad(l, t.Context(), k)) // join c2's entries
		}
		synctest.Wait()
		c1.found()
		c2.found()
		for i, ch := range outs {
			o := recv(t, ch)
			require.NoError(t, o.err)
			assert.Equal(t, val(i), o.v)
		}
		require.NoError(t, recv(t, many).res.Err())
		settle(t, l)
	})
}
