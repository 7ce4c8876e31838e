package batch_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

// waitLimit bounds every wait outside a synctest bubble, so that a bug fails
// a test instead of hanging it. Inside a bubble, synctest reports a
// deadlock instead.
const waitLimit = 10 * time.Second

// val is the value the test fetches return for key k.
func val(k int) string { return fmt.Sprintf("v%d", k) }

// vals returns the map a fetch that finds every key returns.
func vals(keys []int) map[int]string {
	m := make(map[int]string, len(keys))
	for _, k := range keys {
		m[k] = val(k)
	}
	return m
}

// fetchCall is one call of a gate's fetch, held until the test answers it.
type fetchCall struct {
	ctx   context.Context
	keys  []int
	reply chan func() (map[int]string, error)
}

// answer makes the call return m and err.
func (c *fetchCall) answer(m map[int]string, err error) {
	c.reply <- func() (map[int]string, error) { return m, err }
}

// found makes the call return a value for each of its keys.
func (c *fetchCall) found() { c.answer(vals(c.keys), nil) }

// do makes the call run f on fetch's goroutine (to panic, say).
func (c *fetchCall) do(f func() (map[int]string, error)) { c.reply <- f }

// gate is a fetch function whose calls the test receives and answers, in
// the order they start.
type gate struct {
	calls chan *fetchCall
}

func newGate() *gate { return &gate{calls: make(chan *fetchCall, 64)} }

func (g *gate) fetch(ctx context.Context, keys []int) (map[int]string, error) {
	c := &fetchCall{ctx: ctx, keys: slices.Clone(keys), reply: make(chan func() (map[int]string, error), 1)}
	g.calls <- c
	return (<-c.reply)()
}

// next returns the next fetch call.
func (g *gate) next(t *testing.T) *fetchCall {
	t.Helper()
	select {
	case c := <-g.calls:
		return c
	case <-time.After(waitLimit):
		require.FailNow(t, "no fetch call")
		return nil
	}
}

// none checks that no fetch call has started.
func (g *gate) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-g.calls:
		require.FailNow(t, "unexpected fetch", "keys %v", c.keys)
	default:
	}
}

// outcome is what a load returned, or the value it panicked with.
type outcome struct {
	v        string
	err      error
	res      batch.Results[int, string]
	panicked any
}

// goLoad runs l.Load on a new goroutine and delivers its outcome.
func goLoad(l *batch.Loader[int, string], ctx context.Context, key int) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			o.panicked = recover()
			ch <- o
		}()
		o.v, o.err = l.Load(ctx, key)
	}()
	return ch
}

// goLoadMany runs l.LoadMany on a new goroutine and delivers its outcome.
func goLoadMany(l *batch.Loader[int, string], ctx context.Context, keys ...int) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			o.panicked = recover()
			ch <- o
		}()
		o.res = l.LoadMany(ctx, keys)
	}()
	return ch
}

// recv waits for a value from ch.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		require.FailNow(t, "timed out")
		var zero T
		return zero
	}
}

// requireRest checks B7: l holds no key, batch, slot or timer.
func requireRest[K comparable, V any](t *testing.T, l *batch.Loader[K, V]) {
	t.Helper()
	require.Empty(t, batch.Rest(l), "the loader must be at rest")
}

// settle waits, inside a synctest bubble, until every goroutine is blocked
// (the fetches that were answered have returned), then checks B7 as
// requireRest does.
func settle[K comparable, V any](t *testing.T, l *batch.Loader[K, V]) {
	t.Helper()
	synctest.Wait()
	requireRest(t, l)
}
