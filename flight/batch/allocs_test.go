package batch_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flightkit/flightkit/flight/batch"
)

// TestLoaderAllocs pins the cost of the hot paths: a Load that opens its
// own batch, and a LoadMany of 100 new keys, whose allocations do not grow
// with the number of keys (the batch, its keys and entries, the results and
// the fetch goroutine; fetch's own map is prebuilt here).
func TestLoaderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	const n = 100
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	rows := vals(keys)
	l := batch.New(func(context.Context, []int) (map[int]string, error) { return rows, nil })
	ctx := context.Background()

	one := testing.AllocsPerRun(200, func() {
		if _, err := l.Load(ctx, 1); err != nil {
			t.Fatal(err)
		}
	})
	many := testing.AllocsPerRun(200, func() {
		if err := l.LoadMany(ctx, keys).Err(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocs: Load %v, LoadMany of %d keys %v", one, n, many)
	assert.LessOrEqual(t, one, 3.0, "Load: batch, done channel, fetch goroutine")
	assert.LessOrEqual(t, many, 7.0, "LoadMany: a constant, not per key")
	requireRest(t, l)
}
