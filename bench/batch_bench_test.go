package bench

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graph-gophers/dataloader/v7"
	"github.com/vikstrous/dataloadgen"

	"github.com/flightkit/flightkit/flight/batch"
)

// loader is what the batch benchmarks need from one multi-key loader. The
// adapters below configure each with the same window and batch size, the
// same mapped fetch function, and no cache, so that every key a benchmark
// loads reaches a fetch and only batching is measured.
type loader interface {
	load(ctx context.Context, key int) (int, error)
	loadMany(ctx context.Context, keys []int) error
}

// loaderImpl names a loader implementation and builds one for a benchmark.
type loaderImpl struct {
	name string
	make func(window time.Duration, maxBatch int) loader
}

// loaderImpls are compared in every batch benchmark; flight comes first so
// that benchstat's deltas are relative to it.
var loaderImpls = []loaderImpl{
	{"flight", newFlightLoader},
	{"dataloadgen", newDataloadgen},
	{"dataloader", newDataloader},
}

// fetches counts the calls of fetchInts in the running benchmark.
var fetches atomic.Int64

// fetchInts is the fetch every implementation runs: one map entry per key,
// as a query returning rows by id would build.
func fetchInts(_ context.Context, keys []int) (map[int]int, error) {
	fetches.Add(1)
	m := make(map[int]int, len(keys))
	for _, k := range keys {
		m[k] = k
	}
	return m, nil
}

type flightLoader struct{ l *batch.Loader[int, int] }

func newFlightLoader(window time.Duration, maxBatch int) loader {
	return flightLoader{batch.New(fetchInts, batch.WithWindow(window), batch.WithMaxBatch(maxBatch))}
}

func (f flightLoader) load(ctx context.Context, key int) (int, error) { return f.l.Load(ctx, key) }

func (f flightLoader) loadMany(ctx context.Context, keys []int) error {
	return f.l.LoadMany(ctx, keys).Err()
}

type dataloadgenLoader struct{ l *dataloadgen.Loader[int, int] }

func newDataloadgen(window time.Duration, maxBatch int) loader {
	return dataloadgenLoader{dataloadgen.NewMappedLoader(fetchInts, dataloadgen.WithWait(window),
		dataloadgen.WithBatchCapacity(maxBatch), dataloadgen.WithoutCache())}
}

func (d dataloadgenLoader) load(ctx context.Context, key int) (int, error) { return d.l.Load(ctx, key) }

func (d dataloadgenLoader) loadMany(ctx context.Context, keys []int) error {
	_, err := d.l.LoadAll(ctx, keys)
	return err
}

type dataloaderLoader struct{ l *dataloader.Loader[int, int] }

// newDataloader adapts fetchInts to dataloader's batch function, which
// returns one result per key, in order.
func newDataloader(window time.Duration, maxBatch int) loader {
	fn := func(ctx context.Context, keys []int) []*dataloader.Result[int] {
		m, err := fetchInts(ctx, keys)
		rs := make([]*dataloader.Result[int], len(keys))
		for i, k := range keys {
			rs[i] = &dataloader.Result[int]{Data: m[k], Error: err}
		}
		return rs
	}
	return dataloaderLoader{dataloader.NewBatchedLoader(fn, dataloader.WithWait[int, int](window),
		dataloader.WithBatchCapacity[int, int](maxBatch), dataloader.WithCache[int, int](&dataloader.NoCache[int, int]{}))}
}

func (d dataloaderLoader) load(ctx context.Context, key int) (int, error) {
	return d.l.Load(ctx, key)()
}

func (d dataloaderLoader) loadMany(ctx context.Context, keys []int) error {
	_, errs := d.l.LoadMany(ctx, keys)()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// batchSize is the MaxBatch of every benchmark.
const batchSize = 100

// loadersPerCPU is the parallelism of BenchmarkBatchLoad: this many loading
// goroutines per GOMAXPROCS, as many concurrent resolvers would be.
const loadersPerCPU = 32

// keyMeter reports the keys a benchmark loaded per second, the keys per
// fetch, and the heap allocations and bytes per key (runtime.MemStats, so
// that benchmarks whose op loads many keys compare with those whose op loads
// one).
type keyMeter struct {
	mallocs, bytes uint64
	keys           atomic.Int64
}

func startKeyMeter(b *testing.B) *keyMeter {
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fetches.Store(0)
	b.ResetTimer()
	return &keyMeter{mallocs: ms.Mallocs, bytes: ms.TotalAlloc}
}

func (m *keyMeter) stop(b *testing.B) {
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	keys := float64(m.keys.Load())
	b.ReportMetric(keys/b.Elapsed().Seconds(), "keys/s")
	b.ReportMetric(float64(ms.Mallocs-m.mallocs)/keys, "allocs/key")
	b.ReportMetric(float64(ms.TotalAlloc-m.bytes)/keys, "B/key")
	if n := fetches.Load(); n > 0 {
		b.ReportMetric(keys/float64(n), "keys/fetch")
	}
}

// floorLoader is no loader at all: each load returns its key at once,
// without a fetch, so that a benchmark run with it measures its harness
// alone.
type floorLoader struct{}

func newFloorLoader(time.Duration, int) loader { return floorLoader{} }

func (floorLoader) load(_ context.Context, key int) (int, error) { return key, nil }

func (floorLoader) loadMany(context.Context, []int) error { return nil }

// runLoaders runs bench once per implementation of list, as
// "impl=<name>/<sub>".
func runLoaders(b *testing.B, list []loaderImpl, sub string, bench func(b *testing.B, l loaderImpl)) {
	for _, im := range list {
		b.Run("impl="+im.name+"/"+sub, func(b *testing.B) { bench(b, im) })
	}
}

// BenchmarkBatchLoad is the dataloader workload: many concurrent resolvers
// (loadersPerCPU per CPU) each load one key at a time, every key distinct,
// and the loader batches them into fetches of at most batchSize keys. With no
// window, a batch takes the keys that arrive while its fetch gets going; with
// a window, those that arrive within it.
func BenchmarkBatchLoad(b *testing.B) {
	for _, window := range []time.Duration{0, 100 * time.Microsecond, time.Millisecond} {
		runLoaders(b, loaderImpls, "window="+windowName(window), func(b *testing.B, im loaderImpl) {
			l := im.make(window, batchSize)
			var next atomic.Int64
			b.SetParallelism(loadersPerCPU)
			m := startKeyMeter(b)
			b.RunParallel(func(pb *testing.PB) {
				// Each goroutine is a request with a context of its own.
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				for pb.Next() {
					k := int(next.Add(1))
					if v, err := l.load(ctx, k); err != nil || v != k {
						b.Errorf("load(%d) = %d, %v", k, v, err)
						return
					}
				}
			})
			m.keys.Store(next.Load())
			m.stop(b)
		})
	}
}

// BenchmarkBatchLoadMany loads batchSize distinct keys per operation from
// one goroutine: one full batch per op for every implementation.
func BenchmarkBatchLoadMany(b *testing.B) {
	for _, window := range []time.Duration{0, time.Millisecond} {
		runLoaders(b, loaderImpls, "window="+windowName(window), func(b *testing.B, im loaderImpl) {
			l := im.make(window, batchSize)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			keys := make([]int, batchSize)
			next := 0
			m := startKeyMeter(b)
			for b.Loop() {
				for i := range keys {
					next++
					keys[i] = next
				}
				if err := l.loadMany(ctx, keys); err != nil {
					b.Fatal(err)
				}
			}
			m.keys.Store(int64(next))
			m.stop(b)
		})
	}
}

// fullWindow is the window of BenchmarkBatchFull: long enough that every
// batch is dispatched because it is full, never by its timer.
const fullWindow = 10 * time.Millisecond

// fullImpls adds the harness alone (impl=floor) to BenchmarkBatchFull.
var fullImpls = append(loaderImpls[:len(loaderImpls):len(loaderImpls)], loaderImpl{"floor", newFloorLoader})

// BenchmarkBatchFull measures full batches: N callers, released together,
// each load one key of their own, and the loader (MaxBatch N, a window far
// longer than a round) fetches all N in one batch, dispatched because it is
// full. One op is one round: N loads and one fetch. The callers live for the
// whole benchmark, so a round allocates nothing of its own.
func BenchmarkBatchFull(b *testing.B) {
	for _, n := range []int{64, 1024} {
		runLoaders(b, fullImpls, "callers="+strconv.Itoa(n), func(b *testing.B, im loaderImpl) {
			l := im.make(fullWindow, n)
			p := newCallers(n, func(ctx context.Context, key int) {
				if v, err := l.load(ctx, key); err != nil || v != key {
					b.Errorf("load(%d) = %d, %v", key, v, err)
				}
			})
			defer p.stop()
			m := startKeyMeter(b)
			rounds := 0
			for b.Loop() {
				p.round(rounds * n)
				rounds++
			}
			m.keys.Store(int64(rounds * n))
			m.stop(b)
		})
	}
}

// callers is a pool of n goroutines that load one key each per round.
type callers struct {
	n     int
	keys  chan int      // one key per caller per round; closed to stop
	out   chan struct{} // the round's last caller to finish signals it
	left  atomic.Int32  // callers finished in this round
	ended sync.WaitGroup
}

func newCallers(n int, load func(ctx context.Context, key int)) *callers {
	p := &callers{n: n, keys: make(chan int, n), out: make(chan struct{}, 1)}
	for range n {
		p.ended.Go(func() {
			// Each caller is a request with a context of its own.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for k := range p.keys {
				load(ctx, k)
				if p.left.Add(1) == int32(p.n) {
					p.out <- struct{}{}
				}
			}
		})
	}
	return p
}

// round releases every caller with keys base, base+1, ..., and waits until
// each has its value.
func (p *callers) round(base int) {
	p.release(base)
	<-p.out
}

// release hands every caller its key for the round.
func (p *callers) release(base int) {
	p.left.Store(0)
	for i := range p.n {
		p.keys <- base + i
	}
}

func (p *callers) stop() {
	close(p.keys)
	p.ended.Wait()
}

// BenchmarkBatchWake measures the wait that BenchmarkBatchFull's callers
// go through, without a loader: N callers wait for one channel, which is
// closed once all of them have arrived. impl=flight waits as batch.Loader's
// Load does, in a select that also watches the caller's own cancellable
// context, so that the caller can leave; impl=recv waits in a plain
// receive, as the dataloadgen and dataloader callers do (they cannot
// leave). One op is one round.
func BenchmarkBatchWake(b *testing.B) {
	waits := []struct {
		name string
		wait func(ctx context.Context, ch chan struct{})
	}{
		{"flight", func(ctx context.Context, ch chan struct{}) {
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}},
		{"recv", func(_ context.Context, ch chan struct{}) { <-ch }},
	}
	for _, n := range []int{64, 1024} {
		for _, w := range waits {
			b.Run("impl="+w.name+"/callers="+strconv.Itoa(n), func(b *testing.B) {
				var (
					ch      chan struct{} // the round's; written before release
					entered atomic.Int32
					allIn   = make(chan struct{}, 1)
				)
				p := newCallers(n, func(ctx context.Context, _ int) {
					c := ch
					if entered.Add(1) == int32(n) {
						allIn <- struct{}{}
					}
					w.wait(ctx, c)
				})
				defer p.stop()
				b.ReportAllocs()
				for b.Loop() {
					ch = make(chan struct{})
					entered.Store(0)
					p.release(0)
					<-allIn
					close(ch)
					<-p.out
				}
			})
		}
	}
}

func windowName(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return strconv.FormatInt(d.Microseconds(), 10) + "us"
}
