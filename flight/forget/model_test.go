package forget_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

// TestRetainModel checks the group's timers, retention windows and linger,
// against a sequential model with a fake clock: each rapid case runs in a
// testing/synctest bubble, where time.Sleep advances the clock exactly and
// synctest.Wait lets every timer and goroutine settle, so the model knows to
// the nanosecond whether a retained outcome must still be served (F1), per
// outcome (F2), that Forget, ForgetUnshared and Cancel evict it (F3), and
// whether a call whose last DoCtx waiter left is still lingering, so that a
// new caller re-attaches to it, or abandoned (G7e with WithLinger). Expiry
// is observed without calling the group in between only through what the
// next call sees and through Stats.Abandoned; F4's "no goroutine at rest" is
// checked by the bubble itself, which fails a case that ends with a
// goroutine still blocked.
//
// It runs 500 cases, or 5000 longer ones with FLIGHT_LONG=1; -rapid.checks
// and -rapid.steps override both.
func TestRetainModel(t *testing.T) {
	rChecks(t, 500, 5000)
	var cases, steps, hits, execs, expired, revived, lingered int
	rapid.Check(t, func(rt *rapid.T) {
		pol := drawPolicy(rt)
		linger := time.Duration(rapid.SampledFrom([]int{0, 0, 1, 2, 3}).Draw(rt, "linger")) * time.Millisecond
		rapid.SyncTest(rt, func(rt *rapid.T) {
			m := newRetainModel(pol, linger)
			defer func() {
				cases++
				steps += m.steps
				hits += int(m.want.Hits)
				expired += m.expired
				revived += m.revived
				lingered += m.lingered
				execs += int(m.want.Executions)
			}()
			defer m.close(rt)
			key := rapid.SampledFrom(rKeys)
			idx := rapid.IntRange(0, 7)
			// Mostly values and errors, which a policy may keep.
			outcome := rapid.Custom(func(t *rapid.T) rOutcome {
				return [...]rOutcome{rValue, rValue, rValue, rError, rError, rCanceled, rDeadline, rAbandon, rPanic, rGoexit}[rapid.IntRange(0, 9).Draw(t, "o")]
			})
			rt.Repeat(map[string]func(*rapid.T){
				"call": func(rt *rapid.T) {
					m.call(rt, key.Draw(rt, "key"), rKind(rapid.IntRange(0, int(rKinds)-1).Draw(rt, "kind")),
						outcome.Draw(rt, "outcome"), rapid.Bool().Draw(rt, "block"))
				},
				"callAgain": func(rt *rapid.T) { // on the last key called, to find its outcome retained
					m.call(rt, m.last, rKind(rapid.IntRange(0, int(rKinds)-1).Draw(rt, "kind")),
						outcome.Draw(rt, "outcome"), rapid.Bool().Draw(rt, "block"))
				},
				"finish": func(rt *rapid.T) {
					m.finish(rt, idx.Draw(rt, "i"), outcome.Draw(rt, "outcome"))
				},
				"detach":         func(rt *rapid.T) { m.detach(rt, idx.Draw(rt, "i")) },
				"advance":        func(rt *rapid.T) { m.advance(rt, rSteps[rapid.IntRange(0, len(rSteps)-1).Draw(rt, "d")]) },
				"forget":         func(rt *rapid.T) { m.evict(rt, key.Draw(rt, "key"), "Forget") },
				"forgetUnshared": func(rt *rapid.T) { m.evict(rt, key.Draw(rt, "key"), "ForgetUnshared") },
				"cancel":         func(rt *rapid.T) { m.evict(rt, key.Draw(rt, "key"), "Cancel") },
				"":               func(rt *rapid.T) { m.check(rt) },
			})
		})
	})
	t.Logf("%d cases, %d steps: %d executions, %d hits on retained outcomes, %d windows ended; "+
		"%d calls lingered, %d revived", cases, steps, execs, hits, expired, lingered, revived)
}

var rKeys = []string{"a", "b"}

// Windows (-1ms to 8ms, mostly positive) and clock steps are multiples of
// half a millisecond, so that a step lands exactly on the end of a window
// now and then.
var rSteps = []time.Duration{time.Millisecond / 2, time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}

func drawWindow(t *rapid.T, label string) time.Duration {
	return time.Duration(rapid.IntRange(-1, 8).Draw(t, label)) * time.Millisecond
}

type rKind int

const (
	rDo rKind = iota
	rDoCtx
	rDoChan
	rKinds
)

func (k rKind) String() string { return [...]string{"Do", "DoCtx", "DoChan"}[k] }

type rOutcome int

const (
	rValue    rOutcome = iota
	rError             // a plain error: the policy decides
	rCanceled          // context.Canceled: never retained
	rDeadline          // wraps context.DeadlineExceeded: never retained
	rAbandon           // flight.ErrAbandoned: never retained
	rPanic             // never retained
	rGoexit            // never retained
	rAbort             // end of the case
)

func (o rOutcome) String() string {
	return [...]string{"value", "error", "Canceled", "DeadlineExceeded", "ErrAbandoned", "panic", "Goexit", "", "abort"}[o]
}

// rPolicy is a forget policy with the model's view of it.
type rPolicy struct {
	name   string
	p      forget.Policy
	window func(err error) time.Duration // what p.Retain returns
}

func drawPolicy(t *rapid.T) rPolicy {
	pos := func(d time.Duration) time.Duration { return max(d, 0) } // constructors refuse negatives
	switch rapid.IntRange(0, 9).Draw(t, "policy") {
	case 0:
		return rPolicy{"Now()", forget.Now(), func(error) time.Duration { return 0 }}
	case 1:
		return rPolicy{"nil", nil, func(error) time.Duration { return 0 }}
	case 2, 3, 4:
		d := pos(drawWindow(t, "d"))
		return rPolicy{fmt.Sprintf("After(%v)", d), forget.After(d), func(error) time.Duration { return d }}
	case 5, 6, 7:
		v, e := pos(drawWindow(t, "v")), pos(drawWindow(t, "e"))
		return rPolicy{fmt.Sprintf("Split(%v, %v)", v, e), forget.Split(v, e), func(err error) time.Duration {
			if err != nil {
				return e
			}
			return v
		}}
	default:
		// Func may return anything, negative windows included, and is
		// also asked about errors the group refuses to keep.
		v, e, c := drawWindow(t, "v"), drawWindow(t, "e"), drawWindow(t, "ctxerr")
		f := func(err error) time.Duration {
			switch {
			case err == nil:
				return v
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, flight.ErrAbandoned):
				return c
			}
			return e
		}
		return rPolicy{fmt.Sprintf("Func(v %v, e %v, ctx %v)", v, e, c), forget.Func(f), f}
	}
}

type rAnswer struct {
	v      int
	err    error
	shared bool
	panic  any
	goexit bool
}

func (a rAnswer) String() string {
	switch {
	case a.goexit:
		return "goroutine exited"
	case a.panic != nil:
		if pe, ok := a.panic.(*flight.PanicError); ok {
			return fmt.Sprintf("panic(*PanicError{%v})", pe.Value)
		}
		return fmt.Sprintf("panic(%v)", a.panic)
	}
	return fmt.Sprintf("(%d, %v, %v)", a.v, a.err, a.shared)
}

type rCaller struct {
	id     int
	kind   rKind
	ans    chan rAnswer
	cancel context.CancelFunc
}

type rRun struct {
	id      int
	key     string
	release chan rOutcome
	waiters []*rCaller
	mapped  bool
	starter rKind
	until   time.Time // while lingering (no waiter left), when it is abandoned
	block   bool      // fn waits for the model; else it returns at once
	first   rOutcome  // the outcome of a run that does not block
	failed  error     // returned for rError
	late    error     // returned for rDeadline
}

// err is the error run r returns for outcome o.
func (r *rRun) err(o rOutcome) error {
	switch o {
	case rError:
		return r.failed
	case rCanceled:
		return context.Canceled
	case rDeadline:
		return r.late
	case rAbandon:
		return flight.ErrAbandoned
	}
	return nil
}

type rPanicValue struct{ run int }

// rRetained is an outcome the model expects the group to keep until until.
type rRetained struct {
	run   int
	v     int
	err   error
	until time.Time
}

type retainModel struct {
	pol    rPolicy
	linger time.Duration
	g      *flight.Group[string, int]
	abort  chan struct{}
	panics chan *flight.PanicError

	nextID   int
	running  map[string]*rRun // the group's running entry per key
	retained map[string]*rRetained
	live     []*rRun // fns that have not returned
	want     flight.Stats
	steps    int
	expired  int    // retained outcomes whose window ended before a call
	lingered int    // calls whose last waiter left while the group lingers
	revived  int    // lingering calls a new caller re-attached to
	last     string // the key of the last call
	cancels  []context.CancelFunc
}

func newRetainModel(pol rPolicy, linger time.Duration) *retainModel {
	m := &retainModel{
		pol:      pol,
		linger:   linger,
		abort:    make(chan struct{}),
		panics:   make(chan *flight.PanicError, 16),
		running:  make(map[string]*rRun),
		retained: make(map[string]*rRetained),
	}
	m.g = flight.New[string, int](flight.WithForget(pol.p), flight.WithLinger(linger),
		flight.WithPanicHandler(func(pe *flight.PanicError) { m.panics <- pe }))
	return m
}

// body is fn for run r.
func (m *retainModel) body(r *rRun) (int, error) {
	if r == nil {
		return -1, errors.New("model: fn ran for a caller that should not start a run")
	}
	o := r.first
	if r.block {
		select {
		case o = <-r.release:
		case <-m.abort:
			o = rAbort
		}
	}
	switch o {
	case rValue:
		return 1000 + r.id, nil
	case rPanic:
		panic(rPanicValue{r.id})
	case rGoexit:
		runtime.Goexit()
	case rAbort:
		return -2, nil
	}
	return 0, r.err(o)
}

// call makes a call on a goroutine of its own and settles the bubble: the
// caller then either has its answer or waits for a running fn.
func (m *retainModel) call(t *rapid.T, key string, kind rKind, o rOutcome, block bool) {
	if key == "" {
		key = rKeys[0]
	}
	m.last = key
	m.steps++
	m.nextID++
	c := &rCaller{id: m.nextID, kind: kind, ans: make(chan rAnswer, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	m.cancels = append(m.cancels, cancel)
	var run *rRun
	now := time.Now()
	if rt := m.retained[key]; rt != nil && !now.Before(rt.until) {
		delete(m.retained, key) // its timer has fired
		m.expired++
	}
	r, rt := m.running[key], m.retained[key]
	switch {
	case r != nil:
		m.want.Joins++
		r.waiters = append(r.waiters, c)
		if !r.until.IsZero() {
			r.until = time.Time{}
			m.revived++
		}
	case rt != nil:
		m.want.Hits++
	default:
		if kind == rDoChan && o == rPanic {
			o = rError // a panic with a DoChan waiter crashes the process
		}
		run = &rRun{id: c.id, key: key, release: make(chan rOutcome, 1), waiters: []*rCaller{c},
			mapped: true, starter: kind, block: block, first: o,
			failed: fmt.Errorf("run %d failed", c.id),
			late:   fmt.Errorf("run %d: %w", c.id, context.DeadlineExceeded)}
		m.want.Executions++
		m.want.InFlight++
		m.running[key] = run
		m.live = append(m.live, run)
	}
	m.spawn(c, ctx, key, run)
	synctest.Wait()
	switch {
	case rt != nil:
		m.expect(t, c, rAnswer{v: rt.v, err: rt.err, shared: true}, "%v on %q, retained from run %d", kind, key, rt.run)
	case run != nil && !block:
		m.settle(t, run, o)
	}
}

func (m *retainModel) spawn(c *rCaller, ctx context.Context, key string, run *rRun) {
	fn := func() (int, error) { return m.body(run) }
	go func() {
		var a rAnswer
		returned := false
		defer func() {
			if p := recover(); p != nil {
				a.panic = p
			} else if !returned {
				a.goexit = true
			}
			c.ans <- a
		}()
		switch c.kind {
		case rDo:
			a.v, a.err, a.shared = m.g.Do(key, fn)
		case rDoChan:
			r := <-m.g.DoChan(key, fn)
			a.v, a.err, a.shared = r.Val, r.Err, r.Shared
		default:
			a.v, a.err, a.shared = m.g.DoCtx(ctx, key, func(context.Context) (int, error) { return fn() })
		}
		returned = true
	}()
}

// expect takes c's answer, which must be there once the bubble is settled.
func (m *retainModel) expect(t *rapid.T, c *rCaller, want rAnswer, format string, args ...any) {
	t.Helper()
	var got rAnswer
	select {
	case got = <-c.ans:
	default:
		t.Fatalf("%s: caller %d (%v) has no answer; want %v", fmt.Sprintf(format, args...), c.id, c.kind, want)
	}
	ok := got.goexit == want.goexit && got.v == want.v && got.shared == want.shared &&
		errors.Is(got.err, want.err) && (got.err == nil) == (want.err == nil)
	if want.panic != nil {
		pe, isPE := got.panic.(*flight.PanicError)
		ok = isPE && pe.Value == want.panic
	} else if got.panic != nil {
		ok = false
	}
	if !ok {
		t.Fatalf("%s: caller %d (%v) got %v, want %v", fmt.Sprintf(format, args...), c.id, c.kind, got, want)
	}
}

// finish ends the i-th blocked run with o.
func (m *retainModel) finish(t *rapid.T, i int, o rOutcome) {
	if len(m.live) == 0 {
		return
	}
	m.steps++
	r := m.live[i%len(m.live)]
	if o == rPanic && slices.ContainsFunc(r.waiters, func(c *rCaller) bool { return c.kind == rDoChan }) {
		o = rValue
	}
	r.release <- o
	synctest.Wait()
	m.settle(t, r, o)
}

// settle checks the answers of a run that returned o, and records whether
// its outcome is retained and until when.
func (m *retainModel) settle(t *rapid.T, r *rRun, o rOutcome) {
	t.Helper()
	m.live = slices.DeleteFunc(m.live, func(l *rRun) bool { return l == r })
	m.want.InFlight--
	r.until = time.Time{} // finishing stops the linger
	shared := len(r.waiters) > 1
	var want rAnswer
	switch o {
	case rValue:
		want = rAnswer{v: 1000 + r.id, shared: shared}
	case rPanic:
		m.want.Panics++
		want = rAnswer{panic: rPanicValue{r.id}}
	case rGoexit:
		want = rAnswer{err: flight.ErrGoexit, shared: shared}
	default:
		want = rAnswer{err: r.err(o), shared: shared}
	}
	for _, c := range r.waiters {
		w := want
		if o == rGoexit && c.kind == rDo {
			w = rAnswer{goexit: true}
		}
		m.expect(t, c, w, "run %d on %q ended with %v", r.id, r.key, o)
	}
	if o == rPanic && len(r.waiters) == 0 {
		select {
		case <-m.panics:
		default:
			t.Fatalf("run %d panicked with no waiter: the handler was not called", r.id)
		}
	}
	if !r.mapped {
		return
	}
	delete(m.running, r.key)
	retainable := o == rValue || o == rError
	if d := m.pol.window(r.err(o)); retainable && d > 0 && len(r.waiters) > 0 {
		rt := &rRetained{run: r.id, until: time.Now().Add(d)}
		if o == rValue {
			rt.v = 1000 + r.id
		} else {
			rt.err = r.err(o)
		}
		m.retained[r.key] = rt
	}
}

// detach cancels the i-th DoCtx waiter of a blocked run. The last to leave
// abandons the run: the key is released and its outcome never retained.
func (m *retainModel) detach(t *rapid.T, i int) {
	var cands []*rCaller
	var runs []*rRun
	for _, r := range m.live {
		for _, c := range r.waiters {
			if c.kind == rDoCtx {
				cands, runs = append(cands, c), append(runs, r)
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	m.steps++
	c, r := cands[i%len(cands)], runs[i%len(cands)]
	c.cancel()
	synctest.Wait()
	m.expect(t, c, rAnswer{err: context.Canceled}, "detaching from run %d", r.id)
	r.waiters = slices.DeleteFunc(r.waiters, func(w *rCaller) bool { return w == c })
	switch {
	case len(r.waiters) > 0:
	case m.linger > 0 && r.mapped: // a call Forget or Cancel released cannot be joined: no linger
		r.until = time.Now().Add(m.linger) // still joinable until then, even unmapped
		m.lingered++
	default:
		m.abandon(r)
	}
}

// abandon is the end of a call whose waiters all left: the key is released
// (if the call still held it) and Stats.Abandoned counts it.
func (m *retainModel) abandon(r *rRun) {
	m.want.Abandoned++
	r.until = time.Time{}
	m.unmap(r)
}

func (m *retainModel) unmap(r *rRun) {
	if r.mapped {
		delete(m.running, r.key)
		r.mapped = false
	}
}

func (m *retainModel) advance(t *rapid.T, d time.Duration) {
	m.steps++
	time.Sleep(d)
	synctest.Wait() // let the expiring windows' and lingers' timers run
	now := time.Now()
	for _, r := range m.live {
		if !r.until.IsZero() && !now.Before(r.until) {
			m.abandon(r)
		}
	}
}

// evict calls Forget, ForgetUnshared or Cancel on key.
func (m *retainModel) evict(t *rapid.T, key string, how string) {
	m.steps++
	r := m.running[key]
	switch how {
	case "Forget":
		m.g.Forget(key)
	case "ForgetUnshared":
		want := r == nil || len(r.waiters) <= 1
		if got := m.g.ForgetUnshared(key); got != want {
			t.Fatalf("ForgetUnshared(%q) = %v, want %v", key, got, want)
		}
		if !want {
			return
		}
	case "Cancel":
		// Only DoCtx callers (whose ctx can end) start calls whose
		// context Cancel can cancel; fn ignores it here.
		want := r != nil && r.starter == rDoCtx
		if got := m.g.Cancel(key, nil); got != want {
			t.Fatalf("Cancel(%q) = %v, want %v", key, got, want)
		}
	}
	if r != nil {
		if !r.until.IsZero() {
			// A lingering call that nobody can join any more ends now:
			// abandoned after Forget, cancelled (not counted) after Cancel.
			if how != "Cancel" {
				m.want.Abandoned++
			}
			r.until = time.Time{}
		}
		m.unmap(r)
	}
	delete(m.retained, key)
	synctest.Wait()
}

func (m *retainModel) check(t *rapid.T) {
	synctest.Wait()
	if got := m.g.Stats(); got != m.want {
		t.Fatalf("Stats = %+v, want %+v (policy %s)", got, m.want, m.pol.name)
	}
	for _, r := range m.live {
		for _, c := range r.waiters {
			if len(c.ans) > 0 {
				t.Fatalf("caller %d of running run %d answered early: %v", c.id, r.id, <-c.ans)
			}
		}
	}
}

// close ends the blocked runs and lets every goroutine finish, so that the
// bubble ends clean.
func (m *retainModel) close(t *rapid.T) {
	close(m.abort)
	for _, cancel := range m.cancels {
		cancel()
	}
	synctest.Wait()
	if n := m.g.InFlight(); n != 0 {
		t.Errorf("InFlight = %d at rest", n)
	}
	for _, k := range rKeys {
		m.g.Forget(k)
	}
}

// rChecks sets -rapid.checks to n, or with FLIGHT_LONG set to long and
// -rapid.steps to 100, unless the flags were given on the command line.
func rChecks(t *testing.T, n, long int) {
	steps := 0
	if os.Getenv("FLIGHT_LONG") != "" {
		n, steps = long, 100
	}
	for name, v := range map[string]int{"rapid.checks": n, "rapid.steps": steps} {
		given := false
		flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
		if given || v == 0 {
			continue
		}
		f := flag.Lookup(name)
		old := f.Value.String()
		if err := f.Value.Set(strconv.Itoa(v)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Value.Set(old) })
	}
}
