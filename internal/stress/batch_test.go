package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/batch"
)

type fetchPanic struct{ fetch int64 }

// fetchError fails a whole fetch; cause is its context's cause when it gave
// up waiting for it.
type fetchError struct {
	fetch int64
	cause error
}

func (e fetchError) Error() string {
	return fmt.Sprintf("fetch %d failed (cause: %v)", e.fetch, e.cause)
}

func (e fetchError) Unwrap() error { return e.cause }

// keyError fails one key of a fetch.
type keyError struct {
	fetch int64
	key   int
}

func (e keyError) Error() string { return fmt.Sprintf("fetch %d: key %d failed", e.fetch, e.key) }

// mix is splitmix64's finaliser: fetches run on the loader's goroutines, so
// each draws its behaviour from a hash of the phase's seed and its id.
func mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 + b
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// fetch is the loader's fetch function. Each fetch checks that none of its
// keys is being fetched by another one (unless that one was abandoned), then
// returns values with some keys missing or failed on their own, fails as a
// whole, panics, calls runtime.Goexit, or waits a while for its context.
func (p *phase) fetch(ctx context.Context, keys []int) (map[int]int64, error) {
	id := p.nextLoad.Add(1)
	for _, k := range keys {
		p.enter(p.bkeys, "fetch", k, id, 0, ctx)
	}
	defer func() {
		for _, k := range keys {
			p.exit(p.bkeys, k, id)
		}
	}()
	h := mix(p.seed, uint64(id))
	for range h >> 40 % 8 {
		runtime.Gosched()
	}
	switch r := h % 100; {
	case r < 72:
	case r < 82:
		return nil, fetchError{id, nil}
	case r < 86:
		panic(fetchPanic{id})
	case r < 89:
		runtime.Goexit()
	default:
		for i := 0; i < 32 && ctx.Err() == nil; i++ {
			runtime.Gosched()
		}
		if ctx.Err() != nil {
			return nil, fetchError{id, context.Cause(ctx)}
		}
	}
	m := make(map[int]int64, len(keys))
	var kerrs batch.KeyErrors[int]
	for _, k := range keys {
		switch (h>>8 + uint64(k)) % 16 {
		case 0: // missing: ErrNotFound
		case 1:
			if kerrs == nil {
				kerrs = make(batch.KeyErrors[int])
			}
			kerrs[k] = keyError{id, k}
		default:
			m[k] = id<<16 | int64(k)
		}
	}
	if kerrs != nil {
		return m, kerrs
	}
	return m, nil
}

// drawCtx draws a context as drawDoCtx does, for loads.
func drawCtx(rng *rand.Rand) func() (context.Context, context.CancelFunc) {
	mode, yields := rng.IntN(5), rng.IntN(8)
	timeout := time.Duration(rng.IntN(200)) * time.Microsecond
	return func() (context.Context, context.CancelFunc) {
		ctx := context.Background()
		switch mode {
		case 0:
			return ctx, func() {}
		case 1:
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx, cancel
		case 2:
			return context.WithTimeout(ctx, timeout)
		case 3:
			ctx, cancel := context.WithCancel(ctx)
			go func() {
				for range yields {
					runtime.Gosched()
				}
				cancel()
			}()
			return ctx, cancel
		}
		return context.WithCancel(ctx)
	}
}

func (p *phase) drawLoad(rng *rand.Rand, key int) func() {
	mkCtx := drawCtx(rng)
	return func() {
		p.loads.Add(1)
		ctx, cancel := mkCtx()
		defer cancel()
		defer func() {
			p.answered.Add(1)
			if r := recover(); r != nil {
				p.loadPanic("Load", r)
			}
		}()
		v, err := p.loader.Load(ctx, key)
		p.loadAnswer(ctx, key, v, err)
	}
}

func (p *phase) drawLoadMany(rng *rand.Rand) func() {
	mkCtx := drawCtx(rng)
	keys := make([]int, 1+rng.IntN(8))
	for i := range keys {
		keys[i] = rng.IntN(p.cfg.keys)
	}
	return func() {
		p.loads.Add(1)
		ctx, cancel := mkCtx()
		defer cancel()
		defer func() {
			p.answered.Add(1)
			if r := recover(); r != nil {
				p.loadPanic("LoadMany", r)
			}
		}()
		rs := p.loader.LoadMany(ctx, keys)
		if len(rs) != len(keys) {
			p.fail("LoadMany of %d keys: %d results", len(keys), len(rs))
			return
		}
		for i, r := range rs {
			if r.Key != keys[i] {
				p.fail("LoadMany: result %d is for key %d, want %d", i, r.Key, keys[i])
				continue
			}
			p.loadAnswer(ctx, r.Key, r.Val, r.Err)
		}
	}
}

func (p *phase) loadPanic(what string, r any) {
	p.panics.Add(1)
	pe, ok := r.(*flight.PanicError)
	if !ok {
		p.fail("%s: panic %v", what, r)
		return
	}
	if _, ok := pe.Value.(fetchPanic); ok {
		return
	}
	// Several of a LoadMany's fetches panicked: the value joins them.
	joined, ok := pe.Value.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) < 2 {
		p.fail("%s: panicked with %v", what, pe.Value)
		return
	}
	for _, err := range joined.Unwrap() {
		if inner, ok := err.(*flight.PanicError); !ok || inner.Value == nil {
			p.fail("%s: joined panic holds %v", what, err)
		} else if _, ok := inner.Value.(fetchPanic); !ok {
			p.fail("%s: joined panic holds %v", what, inner.Value)
		}
	}
}

// loadAnswer checks what one key of a load received.
func (p *phase) loadAnswer(ctx context.Context, key int, v int64, err error) {
	var (
		fe fetchError
		ke keyError
	)
	switch {
	case err == nil:
		p.values.Add(1)
		if id := v >> 16; int(v&0xffff) != key || id <= 0 || id > p.nextLoad.Load() {
			p.fail("load of key %d: value %#x is not a value of key", key, v)
		}
	case errors.Is(err, flight.ErrAbandoned):
		p.fail("load of key %d: received %v", key, err)
	case err == batch.ErrNotFound:
		p.notFound.Add(1)
	case errors.As(err, &ke):
		p.errs.Add(1)
		if ke.key != key {
			p.fail("load of key %d: another key's error %v", key, err)
		}
	case errors.As(err, &fe):
		p.errs.Add(1)
	case errors.Is(err, flight.ErrGoexit):
		p.errGoexit.Add(1)
	case ctx.Err() != nil && err == ctx.Err():
		p.ctxErrs.Add(1)
	default:
		p.fail("load of key %d: unexpected error %v", key, err)
	}
}
