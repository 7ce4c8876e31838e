package flight_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
)

// Tests in this package do not call t.Parallel: TestGroupDoCtxGoroutines
// and the stress test check with goleak.VerifyNone that the goroutines they
// started are gone, which other tests running at the same time would spoil.

// waitLimit bounds every wait in this package's tests, so that a bug fails a
// test instead of hanging it. Inside a synctest bubble the clock is fake and
// a wait that can never end reaches the limit at once.
const waitLimit = time.Minute

var errTest = errors.New("test error")

// recvWithin receives one value from ch, failing the test if none arrives
// within waitLimit.
func recvWithin[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		require.FailNowf(t, "timed out", "waiting for %s", what)
		panic("unreachable")
	}
}

// requireNoValue checks that nothing can be received from ch right now.
func requireNoValue[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		require.FailNowf(t, "unexpected receive", "%s: got %v (open: %v)", what, v, ok)
	default:
	}
}

// goroutineID returns the ID of the calling goroutine, read from the first
// line of its stack ("goroutine 18 [running]:"). Tests use it to tell on
// which goroutine fn ran.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return string(bytes.Fields(buf)[1])
}

// blocker is a leader's fn: it counts its runs, closes started on the first
// one and blocks until release is closed (bounded by waitLimit, so that a
// forgotten release fails the test's value checks instead of hanging it).
type blocker struct {
	started chan struct{}
	release chan struct{}
	calls   atomic.Int32
	once    sync.Once
	gid     atomic.Value // goroutine ID of the first run
	ctx     atomic.Value // context of the first run, for DoCtx
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{})}
}

// enter is called by fn, with fn's context if it has one.
func (b *blocker) enter(ctx ...context.Context) {
	b.calls.Add(1)
	b.once.Do(func() {
		b.gid.Store(goroutineID())
		if len(ctx) > 0 {
			b.ctx.Store(ctx[0])
		}
		close(b.started)
	})
	select {
	case <-b.release:
	case <-time.After(waitLimit):
	}
}

// fn returns a func for Do and DoChan that blocks, then returns v.
func (b *blocker) fn(v int) func() (int, error) {
	return func() (int, error) {
		b.enter()
		return v, nil
	}
}

// fnCtx returns a func for DoCtx that blocks (ignoring its context), then
// returns v.
func (b *blocker) fnCtx(v int) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		b.enter(ctx)
		return v, nil
	}
}

// awaitStart waits until fn runs and returns the context it received (nil
// for Do and DoChan).
func (b *blocker) awaitStart(t *testing.T) context.Context {
	t.Helper()
	recvWithin(t, b.started, "fn to start")
	ctx, _ := b.ctx.Load().(context.Context)
	return ctx
}

func (b *blocker) goroutine() string {
	s, _ := b.gid.Load().(string)
	return s
}

// result is what one Do or DoCtx caller observed.
type result struct {
	v        int
	err      error
	shared   bool
	returned bool // the call returned normally
	panicVal any  // the value it panicked with
	exited   bool // its goroutine ended by runtime.Goexit
	gid      string
}

// async runs call on a new goroutine and reports how it ended: a return, a
// panic or a runtime.Goexit.
func async(call func() (int, error, bool)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		var r result
		r.gid = goroutineID()
		defer func() {
			if !r.returned {
				// recover returns nil while a Goexit unwinds the goroutine.
				if r.panicVal = recover(); r.panicVal == nil {
					r.exited = true
				}
			}
			ch <- r
		}()
		r.v, r.err, r.shared = call()
		r.returned = true
	}()
	return ch
}

func asyncDo(g *flight.Group[string, int], key string, fn func() (int, error)) <-chan result {
	return async(func() (int, error, bool) { return g.Do(key, fn) })
}

func asyncDoCtx(ctx context.Context, g *flight.Group[string, int], key string, fn func(context.Context) (int, error)) <-chan result {
	return async(func() (int, error, bool) { return g.DoCtx(ctx, key, fn) })
}

// requireValue checks that r is a normal return of v.
func requireValue(t *testing.T, r result, v int, shared bool) {
	t.Helper()
	require.True(t, r.returned, "the call must return (panic: %v, Goexit: %v)", r.panicVal, r.exited)
	require.NoError(t, r.err)
	require.Equal(t, v, r.v)
	require.Equal(t, shared, r.shared, "shared")
}

func constant(v int) func() (int, error) {
	return func() (int, error) { return v, nil }
}

// TestGroupDoJoinerRaceFree: a Do caller joining a running call must not
// race with its publication (under -race this once failed: Do read
// call.finished after unlocking).
func TestGroupDoJoinerRaceFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		leader := asyncDo(&g, "k", b.fn(1))
		b.awaitStart(t)
		follower := asyncDo(&g, "k", constant(-1))
		synctest.Wait()
		close(b.release)
		requireValue(t, recvWithin(t, leader, "leader"), 1, true)
		requireValue(t, recvWithin(t, follower, "follower"), 1, true)
	})
}

// TestGroupZeroValueAndNew checks G1: the zero Group, a Group inside a
// struct and New() with no options behave the same.
func TestGroupZeroValueAndNew(t *testing.T) {
	type service struct {
		users flight.Group[string, int]
	}
	for _, tc := range []struct {
		name string
		make func() *flight.Group[string, int]
	}{
		{"zero value", func() *flight.Group[string, int] { var g flight.Group[string, int]; return &g }},
		{"struct field", func() *flight.Group[string, int] { return &(&service{}).users }},
		{"New", func() *flight.Group[string, int] { return flight.New[string, int]() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := tc.make()
				require.Equal(t, flight.Stats{}, g.Stats())
				require.Zero(t, g.InFlight())
				g.Forget("missing") // no map yet: must not panic

				v, err, shared := g.Do("k", constant(1))
				require.NoError(t, err)
				require.Equal(t, 1, v)
				require.False(t, shared)

				// Nothing is cached: a second call runs its fn.
				v, _, _ = g.Do("k", constant(2))
				require.Equal(t, 2, v)

				r := recvWithin(t, g.DoChan("k", constant(3)), "DoChan")
				require.Equal(t, flight.Result[int]{Val: 3}, r)

				v, err, shared = g.DoCtx(t.Context(), "k", func(context.Context) (int, error) { return 4, errTest })
				require.ErrorIs(t, err, errTest)
				require.Equal(t, 4, v)
				require.False(t, shared)

				// Duplicate suppression works without a constructor.
				b := newBlocker()
				leader := asyncDo(g, "dup", b.fn(5))
				b.awaitStart(t)
				follower := asyncDo(g, "dup", constant(-1))
				synctest.Wait()
				close(b.release)
				requireValue(t, recvWithin(t, leader, "leader"), 5, true)
				requireValue(t, recvWithin(t, follower, "follower"), 5, true)

				require.Equal(t, flight.Stats{Executions: 5, Joins: 1}, g.Stats())
			})
		})
	}
}

// TestNewOptionNotGeneric checks G1: options need no type arguments.
func TestNewOptionNotGeneric(t *testing.T) {
	opts := []flight.Option{
		flight.WithLinger(time.Millisecond),
		flight.WithCallTimeout(time.Minute),
		flight.WithPanicHandler(func(*flight.PanicError) {}),
	}
	g := flight.New[string, int](flight.WithLinger(time.Millisecond))
	v, err, _ := g.Do("k", constant(7))
	require.NoError(t, err)
	require.Equal(t, 7, v)

	// The same option values configure groups of different types.
	g2 := flight.New[int, string](opts...)
	s, err, _ := g2.Do(1, func() (string, error) { return "x", nil })
	require.NoError(t, err)
	require.Equal(t, "x", s)

	// Zero durations mean "off" and are allowed.
	flight.New[string, int](flight.WithLinger(0), flight.WithCallTimeout(0))
}

// TestGroupDo checks G2 for a single caller: fn runs on the caller's
// goroutine, and its value and error come back unshared.
func TestGroupDo(t *testing.T) {
	var g flight.Group[string, int]
	caller := goroutineID()
	var ran string
	v, err, shared := g.Do("k", func() (int, error) {
		ran = goroutineID()
		return 42, errTest
	})
	require.ErrorIs(t, err, errTest)
	require.Equal(t, 42, v)
	require.False(t, shared)
	require.Equal(t, caller, ran, "fn must run on the caller's goroutine")

	// Different keys never share.
	var g2 flight.Group[string, int]
	b := newBlocker()
	ch := asyncDo(&g2, "a", b.fn(1))
	b.awaitStart(t)
	v, err, shared = g2.Do("b", constant(2))
	require.NoError(t, err)
	require.Equal(t, 2, v)
	require.False(t, shared)
	close(b.release)
	requireValue(t, recvWithin(t, ch, "a"), 1, false)
	require.Equal(t, int32(1), b.calls.Load())
}

// TestGroupDoDupSuppress checks G2 for concurrent callers: fn runs once, on
// the leader's goroutine, and every caller gets its value and error with
// shared == true.
func TestGroupDoDupSuppress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		const followers = 5
		b := newBlocker()
		fn := func() (int, error) {
			b.enter()
			return 9, errTest
		}
		leader := asyncDo(&g, "k", fn)
		b.awaitStart(t)
		var chans []<-chan result
		for range followers {
			chans = append(chans, asyncDo(&g, "k", fn))
		}
		synctest.Wait() // every follower is blocked in Do
		require.Equal(t, uint64(followers), g.Stats().Joins)
		close(b.release)

		lr := recvWithin(t, leader, "leader")
		require.True(t, lr.returned)
		require.Equal(t, lr.gid, b.goroutine(), "fn must run on the leader's goroutine")
		for _, r := range append([]result{lr}, collect(t, chans)...) {
			require.True(t, r.returned)
			require.ErrorIs(t, r.err, errTest)
			require.Equal(t, 9, r.v)
			require.True(t, r.shared)
		}
		require.Equal(t, int32(1), b.calls.Load(), "fn must run once")
		require.Zero(t, g.InFlight())

		// The key is free again: the next call runs fn.
		v, err, shared := g.Do("k", constant(10))
		require.NoError(t, err)
		require.Equal(t, 10, v)
		require.False(t, shared)
	})
}

func collect(t *testing.T, chans []<-chan result) []result {
	t.Helper()
	var rs []result
	for _, ch := range chans {
		rs = append(rs, recvWithin(t, ch, "a caller"))
	}
	return rs
}

// TestGroupDoChan checks G3: fn runs on a new goroutine, and the channel has
// a buffer of one, receives exactly one Result and is never closed.
func TestGroupDoChan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		caller := goroutineID()
		ch := g.DoChan("k", func() (int, error) {
			b.enter()
			return 3, errTest
		})
		// DoChan returned while fn blocks: fn is on another goroutine.
		b.awaitStart(t)
		require.NotEqual(t, caller, b.goroutine())
		require.Equal(t, 1, cap(ch))
		requireNoValue(t, ch, "result before fn returned")

		close(b.release)
		r := recvWithin(t, ch, "the result")
		require.ErrorIs(t, r.Err, errTest)
		require.Equal(t, 3, r.Val)
		require.False(t, r.Shared)

		synctest.Wait() // the goroutine that ran fn has exited
		requireNoValue(t, ch, "a second result or a close")
	})
}

// TestGroupDoChanShared checks G3 for concurrent callers: every channel gets
// one shared Result, and a caller that never reads its channel leaks nothing
// (synctest fails the test if a goroutine is left blocked).
func TestGroupDoChanShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		first := g.DoChan("k", b.fn(8))
		b.awaitStart(t)
		second := g.DoChan("k", constant(-1))
		ignored := g.DoChan("k", constant(-1))
		close(b.release)
		for _, ch := range []<-chan flight.Result[int]{first, second} {
			r := recvWithin(t, ch, "a result")
			require.Equal(t, flight.Result[int]{Val: 8, Shared: true}, r)
		}
		synctest.Wait()
		require.Len(t, ignored, 1, "the unread channel holds its result")
		require.Equal(t, int32(1), b.calls.Load())
	})
}

// TestGroupForget checks G4: after Forget, a new caller starts a new
// execution while the earlier callers still receive the earlier result.
func TestGroupForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		leader := asyncDo(&g, "k", b.fn(1))
		b.awaitStart(t)
		follower := asyncDo(&g, "k", constant(-1))
		chWaiter := g.DoChan("k", constant(-1))
		ctxWaiter := asyncDoCtx(t.Context(), &g, "k", func(context.Context) (int, error) { return -1, nil })
		synctest.Wait()

		g.Forget("k")
		// A new call starts while the first one still runs.
		v, err, shared := g.Do("k", constant(2))
		require.NoError(t, err)
		require.Equal(t, 2, v)
		require.False(t, shared)
		require.Equal(t, 1, g.InFlight(), "the forgotten call still runs")

		b2 := newBlocker()
		fresh := asyncDo(&g, "k", b2.fn(3))
		b2.awaitStart(t)

		close(b.release)
		requireValue(t, recvWithin(t, leader, "leader"), 1, true)
		requireValue(t, recvWithin(t, follower, "follower"), 1, true)
		requireValue(t, recvWithin(t, ctxWaiter, "DoCtx waiter"), 1, true)
		require.Equal(t, flight.Result[int]{Val: 1, Shared: true}, recvWithin(t, chWaiter, "DoChan waiter"))

		// The fresh call was not disturbed by the old one finishing.
		synctest.Wait()
		requireNoValue(t, fresh, "the fresh call before its fn returned")
		close(b2.release)
		requireValue(t, recvWithin(t, fresh, "fresh call"), 3, false)

		g.Forget("k") // nothing in flight: no effect
		g.Forget("never used")
		v, _, _ = g.Do("k", constant(4))
		require.Equal(t, 4, v)
	})
}

// TestGroupStats checks the G9 counters.
func TestGroupStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		b := newBlocker()
		leader := asyncDo(&g, "k", b.fn(1))
		b.awaitStart(t)
		followers := []<-chan result{asyncDo(&g, "k", constant(-1)), asyncDo(&g, "k", constant(-1))}
		other := g.DoChan("other", constant(2))
		recvWithin(t, other, "other key")
		synctest.Wait()
		require.Equal(t, flight.Stats{InFlight: 1, Executions: 2, Joins: 2}, g.Stats())
		require.Equal(t, 1, g.InFlight())
		close(b.release)
		recvWithin(t, leader, "leader")
		collect(t, followers)
		require.Equal(t, flight.Stats{Executions: 2, Joins: 2}, g.Stats())

		// An abandoned DoCtx call.
		ctx, cancel := context.WithCancel(t.Context())
		b2 := newBlocker()
		abandoned := asyncDoCtx(ctx, &g, "k", b2.fnCtx(0))
		b2.awaitStart(t)
		cancel()
		recvWithin(t, abandoned, "abandoned caller")
		require.Equal(t, flight.Stats{InFlight: 1, Executions: 3, Joins: 2, Abandoned: 1}, g.Stats(),
			"an abandoned fn still runs until it returns")
		close(b2.release)
		synctest.Wait()

		// A panic.
		r := recvWithin(t, asyncDo(&g, "k", func() (int, error) { panic("boom") }), "panicking call")
		require.NotNil(t, r.panicVal)
		require.Equal(t, flight.Stats{Executions: 4, Joins: 2, Abandoned: 1, Panics: 1}, g.Stats())
	})
}

// TestGroupStatsNonBlocking checks G9: InFlight and Stats answer from
// another goroutine while fn runs and the group's callers are blocked.
func TestGroupStatsNonBlocking(t *testing.T) {
	synctest.Test(t, testGroupStatsNonBlocking)
}

func testGroupStatsNonBlocking(t *testing.T) {
	var g flight.Group[string, int]
	b := newBlocker()
	leader := asyncDo(&g, "k", b.fn(1))
	b.awaitStart(t)
	follower := asyncDo(&g, "k", constant(-1))
	chWaiter := g.DoChan("k", constant(-1))
	synctest.Wait() // the follower is blocked in Do

	read := make(chan flight.Stats, 1)
	go func() {
		// Read the counters from inside another group's fn too, to show
		// they take no lock a caller could hold.
		var other flight.Group[int, int]
		other.Do(0, func() (int, error) {
			assert.Equal(t, 1, g.InFlight())
			read <- g.Stats()
			return 0, nil
		})
	}()
	s := recvWithin(t, read, "Stats while callers block")
	require.Equal(t, 1, s.InFlight)
	require.Equal(t, uint64(1), s.Executions)

	close(b.release)
	requireValue(t, recvWithin(t, leader, "leader"), 1, true)
	requireValue(t, recvWithin(t, follower, "follower"), 1, true)
	recvWithin(t, chWaiter, "DoChan waiter")
	require.Equal(t, flight.Stats{Executions: 1, Joins: 2}, g.Stats())
}

// TestGroupStatsLockFree checks G9 at its root: InFlight and Stats return
// while the group's lock is held.
func TestGroupStatsLockFree(t *testing.T) {
	var g flight.Group[string, int]
	unlock := g.Lock()
	defer unlock() // lets a Stats that waits for the lock end after a failure
	read := make(chan flight.Stats, 1)
	go func() {
		_ = g.InFlight()
		read <- g.Stats()
	}()
	require.Equal(t, flight.Stats{}, recvWithin(t, read, "Stats with the group's lock held"))
}

// TestGroupStatsConcurrent checks G9 under the race detector: counters are
// read while many calls start and finish, and add up afterwards.
func TestGroupStatsConcurrent(t *testing.T) {
	var g flight.Group[int, int]
	const callers = 200
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := g.Stats()
			assert.GreaterOrEqual(t, s.InFlight, 0)
			assert.LessOrEqual(t, uint64(s.InFlight), s.Executions)
			_ = g.InFlight()
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			v, err, _ := g.Do(i%7, func() (int, error) {
				runtime.Gosched()
				return i % 7, nil
			})
			assert.NoError(t, err)
			assert.Equal(t, i%7, v)
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	recvWithin(t, allDone, "all callers")
	close(stop)
	recvWithin(t, readerDone, "the reader")

	s := g.Stats()
	require.Zero(t, s.InFlight)
	require.Equal(t, uint64(callers), s.Executions+s.Joins, "every caller either ran fn or joined")
}
