package memo_test

import (
	"context"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/memo"
)

// BenchmarkCacheHit is the hot path: a call that receives a kept value far
// from its expiry, with early refresh off (Off) and on (the default). fn is
// a closure over the key, as callers write it, which escapes (fn may run in
// a refresh) and costs the caller its one allocation; Static passes a
// top-level function, which costs none.
func BenchmarkCacheHit(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []memo.Option
	}{
		{"Off", []memo.Option{memo.WithEarlyRefresh(0)}},
		{"XFetch", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := memo.New[string, int](forget.Split(time.Hour, 0), bc.opts...)
			defer c.Close()
			ctx := context.Background()
			key := "hot"
			_, _, _ = c.Do(ctx, key, func(context.Context) (int, error) { time.Sleep(time.Millisecond); return 1, nil })
			b.Run("Serial", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _, _ = c.Do(ctx, key, func(context.Context) (int, error) { return len(key), nil })
				}
			})
			b.Run("Static", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _, _ = c.Do(ctx, key, one)
				}
			})
			b.Run("Parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						_, _, _ = c.Do(ctx, key, func(context.Context) (int, error) { return len(key), nil })
					}
				})
			})
		})
	}
}

func one(context.Context) (int, error) { return 1, nil }
