package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/batch"
	"github.com/flightkit/flightkit/flight/forget"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// phaseConfig is one phase of the stress run: a key space and the options of
// its group and loader.
type phaseConfig struct {
	keys    int
	linger  time.Duration // flight.WithLinger
	timeout time.Duration // flight.WithCallTimeout and batch.WithFetchTimeout
	retain  time.Duration // forget.After for the group, forget.Split(retain, 0) for the loader
	window  time.Duration // batch.WithWindow
	max     int           // batch.WithMaxBatch and batch.WithMaxConcurrency
}

func (c phaseConfig) String() string {
	return fmt.Sprintf("keys=%d linger=%v timeout=%v retain=%v window=%v max=%d",
		c.keys, c.linger, c.timeout, c.retain, c.window, c.max)
}

// phases cover 1 to 10,000 keys, each with and without the options that
// change the rules: linger, call timeouts, retention and batch windows.
var phases = []phaseConfig{
	{keys: 1},
	{keys: 1, linger: 20 * time.Microsecond, retain: 50 * time.Microsecond, window: 20 * time.Microsecond, max: 4},
	{keys: 10},
	{keys: 10, linger: 50 * time.Microsecond, timeout: time.Millisecond, max: 8},
	{keys: 100, retain: 100 * time.Microsecond, window: 10 * time.Microsecond},
	{keys: 100, linger: 10 * time.Microsecond, timeout: 200 * time.Microsecond},
	{keys: 1000},
	{keys: 1000, linger: 20 * time.Microsecond, retain: 50 * time.Microsecond, window: 20 * time.Microsecond, max: 16},
	{keys: 10_000},
	{keys: 10_000, linger: 20 * time.Microsecond, timeout: time.Millisecond, retain: 20 * time.Microsecond, max: 32},
}

// workers is the number of goroutines issuing operations in each phase.
const workers = 64

// TestStress runs FLIGHT_STRESS_OPS operations (a few thousand by default,
// see the package documentation for the full run) spread over the phases,
// and checks, phase by phase:
//   - every call gets exactly one answer, of a kind its entry point allows
//     (value or error for its own key, its own ctx's error, ErrGoexit, a
//     *flight.PanicError, its goroutine's exit), and never ErrAbandoned;
//   - no two executions of fn (or fetches of a key) overlap unless a
//     Forget, ForgetUnshared or Cancel of the key, or the abandonment of the
//     first, released the key in between;
//   - shared is true for every receiver of an execution exactly when it had
//     more than one (without retention, where hits also share);
//   - Stats agree with what the functions saw, and InFlight returns to zero;
//   - no goroutine remains (goleak) and the heap returns to within a small
//     bound of where the phase started, with the group and loader still alive.
func TestStress(t *testing.T) {
	ops := envInt(t, "FLIGHT_STRESS_OPS", 50_000)
	if testing.Short() && os.Getenv("FLIGHT_STRESS_OPS") == "" {
		ops = 10_000
	}
	seed := uint64(envInt(t, "FLIGHT_STRESS_SEED", 1))
	ignore := goleak.IgnoreCurrent()
	start := time.Now()
	var sum totals
	for i, cfg := range phases {
		p := newPhase(t, cfg, ops/len(phases), seed*1000+uint64(i))
		p.run()
		p.rest()
		sum.add(&p.totals)
		t.Logf("phase %d (%v): %v", i, cfg, &p.totals)
		if t.Failed() {
			break
		}
	}
	goleak.VerifyNone(t, ignore)
	t.Logf("total: %d ops in %v with GOMAXPROCS=%d: %v", sum.ops.Load(), time.Since(start).Round(time.Millisecond),
		runtime.GOMAXPROCS(0), &sum)
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return n
}

// totals counts what a phase did and saw.
type totals struct {
	ops, calls, loads, answered     atomic.Int64
	values, errs, ctxErrs, notFound atomic.Int64
	panics, goexits, errGoexit      atomic.Int64
	forgets, cancels, cancelled     atomic.Int64
	executions, fetches, overlaps   atomic.Int64
	joins, hits, abandoned, handled atomic.Int64
	skipped                         atomic.Int64
	sharedChecked, heapDelta        atomic.Int64
}

func (s *totals) add(o *totals) {
	for _, f := range [][2]*atomic.Int64{
		{&s.ops, &o.ops}, {&s.calls, &o.calls}, {&s.loads, &o.loads}, {&s.answered, &o.answered},
		{&s.values, &o.values}, {&s.errs, &o.errs}, {&s.ctxErrs, &o.ctxErrs}, {&s.notFound, &o.notFound},
		{&s.panics, &o.panics}, {&s.goexits, &o.goexits}, {&s.errGoexit, &o.errGoexit},
		{&s.forgets, &o.forgets}, {&s.cancels, &o.cancels}, {&s.cancelled, &o.cancelled},
		{&s.executions, &o.executions}, {&s.fetches, &o.fetches}, {&s.overlaps, &o.overlaps},
		{&s.joins, &o.joins}, {&s.hits, &o.hits}, {&s.abandoned, &o.abandoned}, {&s.handled, &o.handled},
		{&s.skipped, &o.skipped},
		{&s.sharedChecked, &o.sharedChecked},
	} {
		f[0].Add(f[1].Load())
	}
	s.heapDelta.Store(max(s.heapDelta.Load(), o.heapDelta.Load()))
}

func (s *totals) String() string {
	return fmt.Sprintf("%d ops (%d group calls, %d loads, %d Forget/ForgetUnshared, %d Cancel of which %d cancelled a ctx); "+
		"%d answers: %d values, %d errors, %d ctx errors, %d not found, %d panics, %d Goexit exits, %d ErrGoexit; "+
		"%d executions (and %d never started: abandoned first), %d fetches, %d joins, %d hits, %d abandoned, %d panics to the handlers; "+
		"%d allowed overlaps; shared checked on %d executions; max heap delta at rest %d B",
		s.ops.Load(), s.calls.Load(), s.loads.Load(), s.forgets.Load(), s.cancels.Load(), s.cancelled.Load(),
		s.answered.Load(), s.values.Load(), s.errs.Load(), s.ctxErrs.Load(), s.notFound.Load(), s.panics.Load(), s.goexits.Load(), s.errGoexit.Load(),
		s.executions.Load(), s.skipped.Load(), s.fetches.Load(), s.joins.Load(), s.hits.Load(), s.abandoned.Load(), s.handled.Load(),
		s.overlaps.Load(), s.sharedChecked.Load(), s.heapDelta.Load())
}

// phase is one stress phase: a group, a loader and what was seen of them.
type phase struct {
	t      *testing.T
	cfg    phaseConfig
	n      int // operations to run
	seed   uint64
	base   int64 // HeapAlloc after GC once the phase is set up
	g      *flight.Group[int, int64]
	loader *batch.Loader[int, int64]
	stuck  chan struct{} // closed if the phase times out, to free DoChan receivers

	execs    []execRec // by execution id, from 1
	nextExec atomic.Int64
	keys     []keyState // flight keys
	bkeys    []keyState // batch keys
	goexited []atomic.Bool
	nextLoad atomic.Int64 // fetch ids
	failures atomic.Int64
	totals
}

// execRec is what one execution of fn did, and what its receivers got.
type execRec struct {
	key     atomic.Int32
	outcome atomic.Int32 // one of the out* constants
	recvd   atomic.Int32 // callers that received its value or error
	shared  atomic.Int32 // of which with shared == true
}

const (
	outNone int32 = iota
	outValue
	outError
	outPanic
	outGoexit
)

// keyState tracks the executions of fn (or fetches) running for one key.
type keyState struct {
	// gen counts the Forget, ForgetUnshared and Cancel calls on the key
	// that returned, and releasing the number of those under way. A caller
	// reads gen before calling; an execution that starts after one of those
	// calls released the key sees either that call under way or a gen newer
	// than the one its predecessor's caller read.
	gen       atomic.Uint64
	releasing atomic.Int32
	mu        sync.Mutex
	active    []active // guarded by mu
}

type active struct {
	id  int64
	gen uint64          // the gen its caller read before calling
	ctx context.Context // fn's context; nil for Do and DoChan
}

func newPhase(t *testing.T, cfg phaseConfig, ops int, seed uint64) *phase {
	p := &phase{t: t, cfg: cfg, n: ops, seed: seed, stuck: make(chan struct{}),
		execs:    make([]execRec, ops+1),
		keys:     make([]keyState, cfg.keys),
		bkeys:    make([]keyState, cfg.keys),
		goexited: make([]atomic.Bool, cfg.keys),
	}
	handler := func(pe *flight.PanicError) {
		p.handled.Add(1)
		switch pe.Value.(type) {
		case panicValue, fetchPanic:
		default:
			p.fail("the panic handler got %v", pe.Value)
		}
	}
	opts := []flight.Option{flight.WithPanicHandler(handler), flight.WithLinger(cfg.linger), flight.WithCallTimeout(cfg.timeout)}
	bopts := []batch.Option{batch.WithPanicHandler(handler), batch.WithFetchTimeout(cfg.timeout), batch.WithWindow(cfg.window),
		batch.WithMaxBatch(cfg.max), batch.WithMaxConcurrency(cfg.max)}
	if cfg.retain > 0 {
		opts = append(opts, flight.WithForget(forget.After(cfg.retain)))
		bopts = append(bopts, batch.WithForget(forget.Split(cfg.retain, 0)))
	}
	p.g = flight.New[int, int64](opts...)
	p.loader = batch.New(p.fetch, bopts...)
	p.base = heapAfterGC()
	return p
}

// fail records an invariant violation; only the first few are printed.
func (p *phase) fail(format string, args ...any) {
	if p.failures.Add(1) <= 20 {
		p.t.Errorf(format, args...)
	}
}

// run issues the phase's operations from the workers, each op on a
// goroutine of its own, since a Do caller may exit through Goexit.
func (p *phase) run() {
	var wg sync.WaitGroup
	per := p.n / workers
	for w := range workers {
		n := per
		if w < p.n%workers {
			n++
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(p.seed, uint64(w)))
			for range n {
				p.ops.Add(1)
				if op := p.draw(rng); op != nil {
					done := make(chan struct{})
					go func() {
						defer close(done)
						op()
					}()
					<-done
				}
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(phaseLimit(p.n)):
		close(p.stuck)
		p.t.Fatalf("phase %v: workers still busy after %v", p.cfg, phaseLimit(p.n))
	}
}

func phaseLimit(ops int) time.Duration {
	return time.Minute + time.Duration(ops)*time.Millisecond
}

// draw picks one operation: it runs control calls (Forget, Cancel) at once
// and returns the calls that may block or exit for run to make on a goroutine
// of their own.
func (p *phase) draw(rng *rand.Rand) func() {
	key := rng.IntN(p.cfg.keys)
	switch r := rng.IntN(100); {
	case r < 28:
		return p.drawDo(rng, key)
	case r < 56:
		return p.drawDoCtx(rng, key)
	case r < 66:
		return p.drawDoChan(rng, key)
	case r < 70:
		p.forget(key, false)
	case r < 73:
		p.forget(key, true)
	case r < 77:
		p.cancel(key, rng.IntN(2) == 0)
	case r < 90:
		return p.drawLoad(rng, key)
	default:
		return p.drawLoadMany(rng)
	}
	return nil
}

// enter records that execution id (or fetch, for bkeys) started for key and
// checks that no other one runs for key unless the key was released in
// between. The executions may enter in another order than the group started
// them, so the check is symmetric: one of the two was abandoned, or a
// Forget, ForgetUnshared or Cancel is under way or returned since the
// earlier of the two callers read gen.
func (p *phase) enter(states []keyState, what string, key int, id int64, gen uint64, ctx context.Context) {
	ks := &states[key]
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, a := range ks.active {
		released := ks.releasing.Load() > 0 || ks.gen.Load() > min(a.gen, gen) ||
			abandoned(a.ctx) || abandoned(ctx)
		if !released {
			p.fail("%s %d started on key %d while %d ran, with no Forget, Cancel or abandonment between (%v; ctx %v %v)",
				what, id, key, a.id, p.cfg, a.ctx, ctx)
		}
		p.overlaps.Add(1)
	}
	ks.active = append(ks.active, active{id, gen, ctx})
}

// abandoned reports whether ctx, an execution's context, says it may have
// been abandoned: its cause is ErrAbandoned or its call timeout has passed.
// In the second case an abandonment leaves the cause to the deadline (the
// first cancellation sets it), and the context reports it only once its
// deadline timer has run, as any context.WithDeadline does.
func abandoned(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return true
	}
	return errors.Is(context.Cause(ctx), flight.ErrAbandoned)
}

func (p *phase) exit(states []keyState, key int, id int64) {
	ks := &states[key]
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for i, a := range ks.active {
		if a.id == id {
			ks.active = append(ks.active[:i], ks.active[i+1:]...)
			if len(ks.active) == 0 {
				ks.active = nil // the heap check counts what stays
			}
			return
		}
	}
}

// rest waits for the phase to come to rest and checks it there.
func (p *phase) rest() {
	t := p.t
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for p.g.InFlight() != 0 || p.active() {
		if time.Now().After(deadline) {
			t.Fatalf("at rest: InFlight = %d, active executions: %v", p.g.InFlight(), p.active())
		}
		time.Sleep(100 * time.Microsecond) // polling, bounded by deadline
	}
	if a, c := p.answered.Load(), p.calls.Load()+p.loads.Load(); a != c {
		t.Errorf("%d answers to %d calls and loads", a, c)
	}
	s := p.g.Stats()
	p.joins.Store(int64(s.Joins))
	p.hits.Store(int64(s.Hits))
	p.abandoned.Store(int64(s.Abandoned))
	if got, want := s.Executions-s.Skipped, uint64(p.nextExec.Load()); got != want {
		t.Errorf("Stats.Executions - Skipped = %d, but fn ran %d times", got, want)
	}
	p.skipped.Store(int64(s.Skipped))
	panics := 0
	for i := range p.nextExec.Load() {
		rec := &p.execs[i+1]
		switch rec.outcome.Load() {
		case outPanic:
			panics++
		case outValue, outError:
			if p.cfg.retain > 0 {
				continue // hits share too
			}
			n, sh := rec.recvd.Load(), rec.shared.Load()
			if n > 0 && !(n == 1 && sh == 0 || n > 1 && sh == n) {
				p.fail("execution %d: %d receivers, %d of them told shared", i+1, n, sh)
			}
			p.sharedChecked.Add(1)
		}
	}
	if s.Panics != uint64(panics) {
		t.Errorf("Stats.Panics = %d, but fn panicked %d times", s.Panics, panics)
	}
	if c := uint64(p.calls.Load()); s.Executions+s.Joins+s.Hits > c {
		t.Errorf("Stats count %d starts, joins and hits for %d calls", s.Executions+s.Joins+s.Hits, c)
	}
	p.executions.Store(p.nextExec.Load())
	p.fetches.Store(p.nextLoad.Load())
	p.checkHeap()
}

// active reports whether an execution or fetch is still running.
func (p *phase) active() bool {
	for _, states := range [][]keyState{p.keys, p.bkeys} {
		for i := range states {
			states[i].mu.Lock()
			n := len(states[i].active)
			states[i].mu.Unlock()
			if n > 0 {
				return true
			}
		}
	}
	return false
}

// heapBound is how far above its level at the start of a phase the heap
// may stay at rest, with the phase's group and loader still alive: their
// maps keep the buckets they grew to (Go maps do not shrink), but nothing a
// call allocated may stay.
const heapBound = 512 << 10

// checkHeap waits, bounded, for retention windows to end and the heap to
// come back to where the phase started, with the group and loader alive.
func (p *phase) checkHeap() {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := heapAfterGC() - p.base
		if d < heapBound {
			p.heapDelta.Store(d)
			break
		}
		if time.Now().After(deadline) {
			p.t.Errorf("heap at rest is %d B above the start of the run (bound %d B)", d, heapBound)
			break
		}
		time.Sleep(time.Millisecond) // polling for timers to release retained outcomes
	}
	runtime.KeepAlive(p.g)
	runtime.KeepAlive(p.loader)
}

func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
