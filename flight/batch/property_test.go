package batch_test

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"testing/quick"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/batch"
)

// errSeven is the per-key error of the model's keys divisible by 7.
var errSeven = errors.New("seven")

// model is the sequential reference for one key: what any load of k must
// return, however the loader batched it.
func model(k int) (string, error) {
	switch {
	case k%5 == 0:
		return "", batch.ErrNotFound
	case k%7 == 0:
		return "", errSeven
	default:
		return val(k), nil
	}
}

// modelResults is what a LoadMany of keys must return.
func modelResults(keys []int) batch.Results[int, string] {
	if len(keys) == 0 {
		return nil
	}
	rs := make(batch.Results[int, string], len(keys))
	for i, k := range keys {
		rs[i].Key = k
		rs[i].Val, rs[i].Err = model(k)
	}
	return rs
}

// checkedFetch is a fetch function for the model that records violations
// of B2: a key passed twice to one fetch, or to two fetches at once.
type checkedFetch struct {
	mu         sync.Mutex
	inFlight   map[int]bool
	violations int
	fetched    int
}

func (c *checkedFetch) fetch(_ context.Context, keys []int) (map[int]string, error) {
	c.mu.Lock()
	if c.inFlight == nil {
		c.inFlight = make(map[int]bool)
	}
	for _, k := range keys {
		if c.inFlight[k] {
			c.violations++
		}
		c.inFlight[k] = true
	}
	c.fetched += len(keys)
	c.mu.Unlock()
	time.Sleep(time.Duration(len(keys)%3) * time.Millisecond) // let fetches overlap
	c.mu.Lock()
	for _, k := range keys {
		delete(c.inFlight, k)
	}
	c.mu.Unlock()
	m := make(map[int]string)
	errs := batch.KeyErrors[int]{}
	for _, k := range keys {
		switch v, err := model(k); {
		case err == errSeven:
			errs[k] = err
		case err == nil:
			m[k] = v
		}
	}
	return m, errs
}

// run performs every LoadMany of ops concurrently (op i starts i%4 ms in)
// in a synctest bubble, on a loader configured by cfg, and returns their
// results and the number of B2 violations.
func run(t *testing.T, ops [][]int, cfg [3]uint8) (out []batch.Results[int, string], violations int) {
	synctest.Test(t, func(t *testing.T) {
		var f checkedFetch
		opts := []batch.Option{batch.WithMaxBatch(int(cfg[1] % 5)), batch.WithMaxConcurrency(int(cfg[2] % 3))}
		if cfg[0]%2 == 1 {
			opts = append(opts, batch.WithWindow(time.Millisecond))
		}
		l := batch.New(f.fetch, opts...)
		out = make([]batch.Results[int, string], len(ops))
		var wg sync.WaitGroup
		for i, keys := range ops {
			wg.Go(func() {
				time.Sleep(time.Duration(i%4) * time.Millisecond)
				out[i] = l.LoadMany(t.Context(), keys)
			})
		}
		wg.Wait()
		settle(t, l)
		violations = f.violations
	})
	return out, violations
}

// TestLoaderModel checks the loader against the sequential model on random
// sequences of concurrent LoadMany calls with duplicate keys and random
// windows, batch sizes and limits (quick.CheckEqual, as in std sync's
// map_test.go): every result matches the model, and no key is ever fetched
// twice at once.
func TestLoaderModel(t *testing.T) {
	toKeys := func(raw [][]uint8) [][]int {
		ops := make([][]int, len(raw))
		for i, r := range raw {
			for _, b := range r {
				ops[i] = append(ops[i], int(b%24)) // few keys: many duplicates
			}
		}
		return ops
	}
	loader := func(raw [][]uint8, cfg [3]uint8) ([]batch.Results[int, string], int) {
		return run(t, toKeys(raw), cfg)
	}
	sequential := func(raw [][]uint8, _ [3]uint8) ([]batch.Results[int, string], int) {
		ops := toKeys(raw)
		out := make([]batch.Results[int, string], len(ops))
		for i, keys := range ops {
			out[i] = modelResults(keys)
		}
		return out, 0
	}
	conf := &quick.Config{MaxCount: 150, Rand: rand.New(rand.NewSource(1))}
	if testing.Short() {
		conf.MaxCount = 20
	}
	require.NoError(t, quick.CheckEqual(loader, sequential, conf))
}

// FuzzLoadMany fuzzes the key list of two overlapping LoadMany calls (one
// with the keys reversed): both must match the model, with each key fetched
// at most once at a time. The seed corpus is in testdata/fuzz/FuzzLoadMany.
func FuzzLoadMany(f *testing.F) {
	f.Add([]byte{1, 2, 3}, uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, cfg uint8) {
		keys := make([]int, len(raw))
		for i, b := range raw {
			keys[i] = int(b)
		}
		reversed := make([]int, len(keys))
		for i, k := range keys {
			reversed[len(keys)-1-i] = k
		}
		out, violations := run(t, [][]int{keys, reversed}, [3]uint8{cfg, cfg >> 2, cfg >> 5})
		require.Zero(t, violations, "a key was fetched twice at once")
		require.Equal(t, modelResults(keys), out[0])
		require.Equal(t, modelResults(reversed), out[1])
	})
}
