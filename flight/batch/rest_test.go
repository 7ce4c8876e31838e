package batch_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/batch"
)

// TestLoaderRest checks B7: after loads of every kind (windows, full
// batches, queued batches, cancelled waiters, abandoned fetches, errors,
// panics), the loader holds no goroutine and no timer. synctest.Test fails
// if a goroutine of the bubble is left, and Rest reports the timers, keys,
// batches and slots the loader still holds.
func TestLoaderRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := batch.New(func(ctx context.Context, keys []int) (map[int]string, error) {
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(3 * time.Millisecond):
			}
			if keys[0]%11 == 0 {
				panic("eleven")
			}
			return vals(keys), nil
		}, batch.WithWindow(2*time.Millisecond), batch.WithMaxBatch(4), batch.WithMaxConcurrency(2),
			batch.WithPanicHandler(func(*flight.PanicError) {}))
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				defer func() { _ = recover() }() // the eleven panics
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%9)*time.Millisecond)
				defer cancel()
				time.Sleep(time.Duration(i%5) * time.Millisecond)
				if i%2 == 0 {
					_, _ = l.Load(ctx, i%13)
				} else {
					l.LoadMany(ctx, []int{i % 13, i % 7, i % 13})
				}
			})
		}
		wg.Wait()
		settle(t, l)
	})
}
