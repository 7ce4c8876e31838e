package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// work is the function a benchmark hands to every implementation. Each
// adapter wraps it once, when it is built, in the function type its library
// wants, so that no benchmark iteration pays for an adapter closure.
type work = func(ctx context.Context) (int, error)

// group is what the harness needs from one singleflight implementation. The
// adapters live in adapters_test.go.
type group interface {
	// do is the implementation's plain, blocking call: Do, or for a peer
	// that only has a context form, that form with context.Background().
	do(key string) (int, error)
	// doCtx waits for key's call only as long as ctx lasts: the
	// implementation's own context form, or the idiom its users write.
	doCtx(ctx context.Context, key string) (int, error)
}

// chanGroup is a group that also has DoChan; doChan calls it and receives the
// result.
type chanGroup interface {
	group
	doChan(key string) (int, error)
}

// impl names an implementation and builds a fresh group for one benchmark.
type impl struct {
	name string
	make func(work) group
}

// impls are the implementations every benchmark compares; flight comes
// first so that benchstat's deltas are relative to it.
var impls = []impl{
	{"flight", newFlight},
	{"xsync", newXSync},
	{"resenje", newResenje},
	{"tailscale", newTailscale},
}

// soloImpls adds the floor of a single call (minGroup) to the benchmarks
// with one caller per call.
var soloImpls = append(impls[:len(impls):len(impls)], impl{"floor", newMin})

// ctxImpls adds to soloImpls x/sync's Do, which ignores ctx: the cost of a
// call that cannot detach.
var ctxImpls = append(soloImpls[:len(soloImpls):len(soloImpls)], impl{"xsync-do", newXSyncDo}, lean)

// crowdImpls adds the harness's own cost to the crowd benchmarks: floor
// calls the function directly, with no duplicate suppression, so only the
// round's first caller waits in it. What an implementation costs per caller
// above floor is what it adds to a stampede.
var crowdImpls = append(impls[:len(impls):len(impls)], impl{"floor", newFloor})

// lean is flight's design with every feature taken out (leanGroup), in the
// benchmarks of callers that can leave (DoCtx, CtxWaiters, Churn).
var lean = impl{"lean", newLean}

// ctxCrowdImpls are crowdImpls and lean.
var ctxCrowdImpls = append(crowdImpls[:len(crowdImpls):len(crowdImpls)], lean)

// churnImpls are impls and lean.
var churnImpls = append(impls[:len(impls):len(impls)], lean)

// chanImpls are the implementations with DoChan.
var chanImpls = func() []impl {
	var out []impl
	for _, im := range soloImpls {
		if _, ok := im.make(pure).(chanGroup); ok {
			out = append(out, im)
		}
	}
	return out
}()

// runImpls runs bench once per implementation in list, as sub-benchmark
// "impl=<name>/<sub>" (just "impl=<name>" when sub is empty), with alloc
// reporting on.
func runImpls(b *testing.B, list []impl, sub string, bench func(b *testing.B, mk func(work) group)) {
	for _, im := range list {
		name := "impl=" + im.name
		if sub != "" {
			name += "/" + sub
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			bench(b, im.make)
		})
	}
}

// keys are distinct keys built once, so that no iteration allocates one.
var keys = func() []string {
	k := make([]string, 1<<12)
	for i := range k {
		k[i] = fmt.Sprintf("key-%04d", i)
	}
	return k
}()

const keyMask = 1<<12 - 1

// value is what every function returns: small enough that boxing it in an
// any (x/sync) does not allocate.
const value = 1

func pure(context.Context) (int, error) { return value, nil }

// crowd is a pool of n caller goroutines that a benchmark releases together
// against one key, once per iteration (a round). The goroutines live for the
// whole benchmark, so a round allocates nothing of its own and whatever the
// implementation allocates for its waiters shows in allocs/op.
//
// The function under the key (lead) blocks until all n callers have entered
// the implementation, so every caller but the first joins the same call. The
// callers count themselves just before they call in; a caller preempted
// between its count and its join could still miss the call and start a
// second, instant one. lead yields a little to let such callers get in, and
// every extra execution is counted and reported as extra-runs/op.
type crowd struct {
	n     int
	start chan struct{} // one token per caller per round
	quit  chan struct{} // closed to end the goroutines
	wg    sync.WaitGroup

	// Reset by the harness between rounds, when no caller is running.
	entered atomic.Int32
	left    atomic.Int32
	runs    atomic.Int32
	allIn   chan struct{} // buffered; the last caller to enter signals it
	allOut  chan struct{} // buffered; the last caller to return signals it
	extra   int           // extra executions over the benchmark

	// The round's key and context, written by the harness before it
	// hands out the round's tokens (the channel sends publish them).
	key string
	ctx context.Context
}

// newCrowd starts n callers, each of which runs call(c.ctx, c.key) once per
// round. stop ends them.
func newCrowd(n int, call func(ctx context.Context, key string)) *crowd {
	c := &crowd{
		n:      n,
		start:  make(chan struct{}, n),
		quit:   make(chan struct{}),
		allIn:  make(chan struct{}, 1),
		allOut: make(chan struct{}, 1),
		key:    "hot",
		ctx:    context.Background(),
	}
	c.wg.Add(n)
	for range n {
		go c.caller(call)
	}
	return c
}

func (c *crowd) caller(call func(ctx context.Context, key string)) {
	defer c.wg.Done()
	for {
		select {
		case <-c.start:
		case <-c.quit:
			return
		}
		if int(c.entered.Add(1)) == c.n {
			c.allIn <- struct{}{}
		}
		call(c.ctx, c.key)
		if int(c.left.Add(1)) == c.n {
			c.allOut <- struct{}{}
		}
	}
}

// release starts a round: every caller calls in once.
func (c *crowd) release() {
	c.entered.Store(0)
	c.left.Store(0)
	c.runs.Store(0)
	for range c.n {
		c.start <- struct{}{}
	}
}

// wait blocks until every caller of the round has returned.
func (c *crowd) wait() {
	<-c.allOut
	c.extra += int(c.runs.Load()) - 1
}

// first reports whether the execution calling it is the round's first; it
// counts executions.
func (c *crowd) first() bool { return c.runs.Add(1) == 1 }

// lead is the hot key's function: the round's first execution returns once
// every caller has entered; any other returns at once.
func (c *crowd) lead(context.Context) (int, error) {
	if c.first() {
		<-c.allIn
		c.settle()
	}
	return value, nil
}

// settle yields a few times, in proportion to the crowd, so that callers
// that have counted themselves but still queue on the implementation's lock
// get to join before the function returns.
func (c *crowd) settle() {
	for range 1 + c.n/16 {
		runtime.Gosched()
	}
}

func (c *crowd) stop() {
	close(c.quit)
	c.wg.Wait()
}

// report adds the per-caller cost and the extra executions to b's results.
func (c *crowd) report(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.n), "ns/caller")
	b.ReportMetric(float64(c.extra)/float64(b.N), "extra-runs/op")
}

// TestHarness checks, under go test (and -race in CI), that every adapter
// returns the function's value, that every context form detaches on a
// cancelled context, and that a crowd round joins one call.
func TestHarness(t *testing.T) {
	for _, im := range ctxImpls {
		t.Run(im.name, func(t *testing.T) {
			g := im.make(pure)
			if v, err := g.do("k"); v != value || err != nil {
				t.Fatalf("do = %v, %v", v, err)
			}
			if v, err := g.doCtx(t.Context(), "k"); v != value || err != nil {
				t.Fatalf("doCtx = %v, %v", v, err)
			}
			if cg, ok := g.(chanGroup); ok {
				if v, err := cg.doChan("k"); v != value || err != nil {
					t.Fatalf("doChan = %v, %v", v, err)
				}
			}
			if im.name != "xsync-do" {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				// x/sync's fn gets no context to watch: release ends it.
				release := make(chan struct{})
				defer close(release)
				blocked := func(ctx context.Context) (int, error) {
					select {
					case <-release:
					case <-ctx.Done():
					}
					return 0, ctx.Err()
				}
				if _, err := im.make(blocked).doCtx(ctx, "k"); err != context.Canceled {
					t.Fatalf("doCtx with a cancelled ctx: %v", err)
				}
			}

			var cg group
			c := newCrowd(8, func(_ context.Context, key string) { cg.do(key) })
			defer c.stop()
			cg = im.make(c.lead)
			for range 3 {
				c.release()
				c.wait()
			}
			if c.runs.Load() < 1 {
				t.Fatal("the crowd's function never ran")
			}
		})
	}
}
