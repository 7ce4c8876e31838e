package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

// Compare implementations within one run:
//
//	go -C bench test -run='^$' -bench=. -count=10 > out.txt
//	benchstat -col /impl out.txt
//
// scripts/perf.sh does this and writes docs/performance.md.

// crowdSizes are the numbers of concurrent callers per call of the hot-key
// benchmarks.
var crowdSizes = []int{8, 64, 1024}

// BenchmarkDo is one caller at a time, each call for a key nobody else
// wants: the cost of starting and finishing a call.
func BenchmarkDo(b *testing.B) {
	runImpls(b, soloImpls, "keys=distinct", func(b *testing.B, mk func(work) group) {
		g := mk(pure)
		i := 0
		for b.Loop() {
			g.do(keys[i&keyMask])
			i++
		}
	})
}

// BenchmarkDoParallel is Do from every P at once, with each goroutine on keys
// of its own (distinct: every call a miss) or all on one key (one: callers
// join whatever call is running, or start the next).
func BenchmarkDoParallel(b *testing.B) {
	runImpls(b, soloImpls, "keys=distinct", func(b *testing.B, mk func(work) group) {
		g := mk(pure)
		var id atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			base := int(id.Add(1)) * 64
			for i := 0; pb.Next(); i++ {
				g.do(keys[(base+i&63)&keyMask])
			}
		})
	})
	runImpls(b, impls, "keys=one", func(b *testing.B, mk func(work) group) {
		g := mk(pure)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				g.do("hot")
			}
		})
	})
}

// BenchmarkHotKey releases n callers of Do together against one key whose
// function returns only once all of them have entered: one call, n-1 joiners
// per op. allocs/op beyond the starter's are the joiners'; ns/caller is the
// time of an op over n. impl=floor is the harness alone.
func BenchmarkHotKey(b *testing.B) {
	for _, n := range crowdSizes {
		runImpls(b, crowdImpls, "callers="+strconv.Itoa(n), func(b *testing.B, mk func(work) group) {
			var g group
			c := newCrowd(n, func(_ context.Context, key string) { g.do(key) })
			defer c.stop()
			g = mk(c.lead)
			for b.Loop() {
				c.release()
				c.wait()
			}
			c.report(b)
		})
	}
}

// BenchmarkDoCtx is one caller at a time on distinct keys through each
// implementation's context form (x/sync: DoChan and a select on ctx.Done();
// xsync-do: plain Do, which cannot detach, as the floor). ctx=cancel reuses
// one cancellable context that never ends; ctx=background passes
// context.Background(), whose Done is nil. ctx=cancel-watched is ctx=cancel
// with a function that looks at its context's Done, as a function that does
// I/O with it would. impl=lean is flight's design with its features taken
// out (leanGroup).
func BenchmarkDoCtx(b *testing.B) {
	watch := func(ctx context.Context) (int, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
			return value, nil
		}
	}
	cases := []struct {
		name string
		fn   work
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"ctx=cancel", pure, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
		{"ctx=background", pure, func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}},
		{"ctx=cancel-watched", watch, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
	}
	for _, tc := range cases {
		runImpls(b, ctxImpls, tc.name, func(b *testing.B, mk func(work) group) {
			g := mk(tc.fn)
			ctx, cancel := tc.ctx()
			defer cancel()
			i := 0
			for b.Loop() {
				g.doCtx(ctx, keys[i&keyMask])
				i++
			}
		})
	}
}

// BenchmarkCtxWaiters is BenchmarkHotKey through each context form, every
// caller with a cancellable context (shared, never cancelled). impl=floor is
// the harness alone; impl=lean is flight's design with its features taken
// out (leanGroup).
func BenchmarkCtxWaiters(b *testing.B) {
	for _, n := range crowdSizes {
		runImpls(b, ctxCrowdImpls, "callers="+strconv.Itoa(n), func(b *testing.B, mk func(work) group) {
			var g group
			c := newCrowd(n, func(ctx context.Context, key string) { g.doCtx(ctx, key) })
			defer c.stop()
			g = mk(c.lead)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c.ctx = ctx
			for b.Loop() {
				c.release()
				c.wait()
			}
			c.report(b)
		})
	}
}

// churn is a round in which every waiter gives up while the function runs.
type churn struct {
	*crowd
	running chan struct{} // the function saw every waiter enter
	finish  chan struct{} // unbuffered: the harness lets the function return
	fnDone  chan struct{} // the function is returning
}

// fn blocks until the harness lets it finish, or until its own context ends
// (flight, resenje and tailscale cancel it once every waiter has left).
func (c *churn) fn(ctx context.Context) (int, error) {
	if !c.first() {
		return value, nil
	}
	<-c.allIn
	c.settle()
	c.running <- struct{}{}
	select {
	case <-c.finish:
	case <-ctx.Done():
	}
	c.fnDone <- struct{}{}
	return value, nil
}

// BenchmarkChurn releases 64 callers with one cancellable context per round
// against one key; once all have joined, the context is cancelled, and when
// every caller has returned the function finishes. An op is a whole round. Each
// round uses a new key, so that a call still finishing from the round before
// is never joined, and a new context (about two allocations of the harness per
// op, the same for every implementation). impl=lean, like x/sync, never
// cancels the function, which the harness then lets finish.
func BenchmarkChurn(b *testing.B) {
	const n = 64
	runImpls(b, churnImpls, "waiters="+strconv.Itoa(n), func(b *testing.B, mk func(work) group) {
		var g group
		c := &churn{
			crowd:   newCrowd(n, func(ctx context.Context, key string) { g.doCtx(ctx, key) }),
			running: make(chan struct{}, 1),
			finish:  make(chan struct{}),
			fnDone:  make(chan struct{}, 1),
		}
		defer c.stop()
		g = mk(c.fn)
		i := 0
		for b.Loop() {
			ctx, cancel := context.WithCancel(context.Background())
			c.ctx, c.key = ctx, keys[i&keyMask]
			i++
			c.release()
			<-c.running
			cancel()
			c.wait()
			select {
			case c.finish <- struct{}{}:
				<-c.fnDone
			case <-c.fnDone:
			}
		}
		c.report(b)
	})
}

// BenchmarkDoChan is DoChan and a receive, one caller at a time on distinct
// keys.
func BenchmarkDoChan(b *testing.B) {
	runImpls(b, chanImpls, "keys=distinct", func(b *testing.B, mk func(work) group) {
		g := mk(pure).(chanGroup)
		i := 0
		for b.Loop() {
			g.doChan(keys[i&keyMask])
			i++
		}
	})
}

// BenchmarkFnCtx measures what a function does with the context an
// implementation hands it: op=child derives a cancellable child and cancels
// it, op=afterfunc registers a context.AfterFunc and stops it, op=done reads
// Done and op=value looks up a value of the caller's. The context belongs to
// a call that stays running for the whole benchmark (x/sync hands fn no
// context, so it is not measured).
func BenchmarkFnCtx(b *testing.B) {
	type key struct{}
	ops := []struct {
		name string
		op   func(ctx context.Context)
	}{
		{"op=child", func(ctx context.Context) {
			_, cancel := context.WithCancel(ctx)
			cancel()
		}},
		{"op=afterfunc", func(ctx context.Context) {
			stop := context.AfterFunc(ctx, func() {})
			stop()
		}},
		{"op=done", func(ctx context.Context) { _ = ctx.Done() }},
		{"op=value", func(ctx context.Context) { _ = ctx.Value(key{}) }},
	}
	peers := []impl{impls[0], impls[2], impls[3]} // flight, resenje, tailscale
	for _, o := range ops {
		runImpls(b, peers, o.name, func(b *testing.B, mk func(work) group) {
			got, release := make(chan context.Context, 1), make(chan struct{})
			g := mk(func(ctx context.Context) (int, error) {
				got <- ctx
				<-release
				return value, nil
			})
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, 1))
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = g.doCtx(ctx, "k")
			}()
			fnCtx := <-got
			for b.Loop() {
				o.op(fnCtx)
			}
			close(release)
			<-done
		})
	}
}
