package batch_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
	"github.com/flightkit/flightkit/flight/forget"
)

// TestLoaderForgetPolicy checks WithForget: a kept value is shared without a
// fetch for its window, then released without anyone calling; an error the
// policy does not keep is fetched again.
func TestLoaderForgetPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fetches := 0
		l := batch.New(func(_ context.Context, keys []int) (map[int]string, error) {
			fetches++
			m := vals(keys)
			delete(m, 2)
			return m, nil
		}, batch.WithForget(forget.Split(time.Second, 0)))
		rs := l.LoadMany(t.Context(), []int{1, 2})
		require.ErrorIs(t, rs[1].Err, batch.ErrNotFound)
		assert.Equal(t, 1, fetches)

		time.Sleep(time.Second - time.Nanosecond)
		v, err := l.Load(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, "v1", v)
		assert.Equal(t, 1, fetches, "a kept value needs no fetch")
		_, err = l.Load(t.Context(), 2)
		require.ErrorIs(t, err, batch.ErrNotFound)
		assert.Equal(t, 2, fetches, "an error is fetched again")

		time.Sleep(time.Second)
		settle(t, l) // released by its timer, with nobody calling
		_, err = l.Load(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, 3, fetches, "after the window, a new fetch")
		time.Sleep(time.Second)
		settle(t, l)
	})
}

// TestLoaderForgetNever checks what no policy can keep: context errors, and
// the outcome of a key nobody waited for any more.
func TestLoaderForgetNever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		keep := batch.WithForget(forget.After(time.Hour))
		l := batch.New(g.fetch, keep)
		a := goLoad(l, t.Context(), 1)
		g.next(t).answer(nil, fmt.Errorf("fetch: %w", context.DeadlineExceeded))
		require.ErrorIs(t, recv(t, a).err, context.DeadlineExceeded)
		settle(t, l)

		l = batch.New(g.fetch, keep, batch.WithWindow(time.Millisecond))
		ctx, cancel := context.WithCancel(t.Context())
		left := goLoad(l, ctx, 2)
		stays := goLoad(l, t.Context(), 3)
		c := g.next(t)
		require.ElementsMatch(t, []int{2, 3}, c.keys)
		cancel()
		require.ErrorIs(t, recv(t, left).err, context.Canceled)
		c.found()
		assert.Equal(t, "v3", recv(t, stays).v)
		b := goLoad(l, t.Context(), 2)
		g.next(t).found() // key 2 was not kept: its waiter had left
		assert.Equal(t, "v2", recv(t, b).v)
		_, err := l.Load(t.Context(), 3)
		require.NoError(t, err, "key 3 was kept")
		g.none(t)
	})
}

// TestLoaderForget checks Loader.Forget: it evicts a kept value at once and
// stops its timer, and releases a key being fetched so the next load fetches
// it again, while the current waiters get the running fetch's outcome; a key
// still pending stays joinable.
func TestLoaderForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		l := batch.New(g.fetch, batch.WithForget(forget.After(time.Hour)))
		a := goLoadMany(l, t.Context(), 1, 2)
		g.next(t).found()
		require.NoError(t, recv(t, a).res.Err())
		l.Forget(1)
		l.Forget(2)
		l.Forget(3) // unknown: nothing happens
		settle(t, l)

		old := goLoad(l, t.Context(), 1)
		c := g.next(t)
		l.Forget(1)
		fresh := goLoad(l, t.Context(), 1)
		c2 := g.next(t)
		c2.answer(map[int]string{1: "new"}, nil)
		c.answer(map[int]string{1: "old"}, nil)
		assert.Equal(t, "old", recv(t, old).v)
		assert.Equal(t, "new", recv(t, fresh).v)
		v, err := l.Load(t.Context(), 1)
		require.NoError(t, err)
		assert.Equal(t, "new", v, "the forgotten fetch's outcome is not kept")
		l.Forget(1)
		settle(t, l)

		// A key still pending is not affected: a later load joins it.
		l = batch.New(g.fetch, batch.WithWindow(time.Millisecond))
		first := goLoad(l, t.Context(), 1)
		synctest.Wait()
		l.Forget(1)
		second := goLoad(l, t.Context(), 1)
		synctest.Wait()
		assert.Equal(t, 2, batch.Waiters(l, 1))
		c = g.next(t)
		assert.Equal(t, []int{1}, c.keys)
		c.found()
		assert.Equal(t, "v1", recv(t, first).v)
		assert.Equal(t, "v1", recv(t, second).v)
		settle(t, l)
	})
}
