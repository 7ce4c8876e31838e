package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FL8: retention, early refresh and stale-if-error. The windows and the
// XFetch draws run on a manual clock and a chosen random source, so the
// tests move time instead of sleeping; Redis itself holds the frames for
// real time, longer than any of these tests runs.

// always and never are random sources for XFetch: a draw of nearly 1
// makes -ln(1-r) large (about 37), a draw of 0 makes it 0 (refresh only
// once expired). With a large beta, always refreshes at every call.
func always() float64 { return math.Nextafter(1, 0) }
func never() float64  { return 0 }

// refreshAlways makes every call that receives a retained outcome draw a
// refresh.
var refreshAlways = []fleet.Option{fleet.WithRand(always), fleet.WithEarlyRefresh(1e9)}

// eventLog collects the name of every hook event of g.
func eventLog[V any](g *fleet.Group[V]) <-chan string {
	ch := make(chan string, 10000)
	fleet.SetEventHook(g, func(ev, key string) { ch <- ev })
	return ch
}

// count drains what arrived on ch so far and counts ev.
func count(ch <-chan string, ev string) int {
	n := 0
	for {
		select {
		case e := <-ch:
			if e == ev {
				n++
			}
		default:
			return n
		}
	}
}

// value returns a fn that returns v, advancing clock by took first (the
// compute time, delta, that the leader measures), and counts its runs.
func value[V any](clock *fleet.ManualClock, took time.Duration, v V, runs *int) func(context.Context) (V, error) {
	return func(context.Context) (V, error) {
		*runs++
		if took > 0 {
			clock.Advance(took)
		}
		return v, nil
	}
}

// published subscribes to key's channel and returns the frames published
// there from now on.
func published(t *testing.T, ctx context.Context, key string) <-chan []byte {
	t.Helper()
	_, _, channel := fleet.Names(prefix(t), key)
	ps := newClient(t, redisAddr).Subscribe(ctx, channel)
	t.Cleanup(func() { ps.Close() })
	_, err := ps.Receive(ctx) // the confirmation
	require.NoError(t, err)
	out := make(chan []byte, 100)
	go func() {
		for m := range ps.Channel() {
			out <- []byte(m.Payload)
		}
	}()
	return out
}

// FL8 retention: an outcome is kept for its window; a late arrival in any
// process receives it with one look, shared, without calling fn; after the
// window fn runs again. Windows follow the policy: values and errors
// apart, and never a context error.
func TestRetention(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	opts := []fleet.Option{fleet.WithClock(clock), fleet.WithForget(forget.Split(10*time.Second, 0)), fleet.WithEarlyRefresh(0)}
	rdb, cmds := countedClient(t)
	a := newGroup[string](t, opts...)
	b := groupOn[string](t, rdb, opts...)
	runs := 0

	r := a.DoResult(ctx, "k", value(clock, 0, "v1", &runs))
	require.NoError(t, r.Err)
	assert.Equal(t, fleet.Result[string]{Val: "v1"}, r, "computed here: age 0, fresh")
	_, out, _ := fleet.Names(prefix(t), "k")
	pttl, err := rdb.PTTL(ctx, out).Result()
	require.NoError(t, err)
	assert.InDelta(t, 10*time.Second, pttl, float64(time.Second), "Redis keeps it for the window")

	clock.Advance(3 * time.Second)
	cmds.take()
	r = b.DoResult(ctx, "k", value(clock, 0, "other", &runs))
	assert.Equal(t, fleet.Result[string]{Val: "v1", Shared: true, Age: 3 * time.Second}, r)
	assert.Equal(t, []string{"get"}, cmds.take(), "one GET")
	assert.Equal(t, 1, runs)
	assert.Equal(t, uint64(1), b.Stats().Hits)
	assert.Zero(t, b.Stats().Leads)

	clock.Advance(7 * time.Second) // the window ends
	v, err, shared := b.Do(ctx, "k", value(clock, 0, "v2", &runs))
	require.NoError(t, err)
	assert.Equal(t, "v2", v)
	assert.False(t, shared)
	assert.Equal(t, 2, runs)

	t.Run("errors follow the policy", func(t *testing.T) {
		boom := errors.New("boom")
		fail := func(context.Context) (string, error) { runs++; return "", boom }
		_, err, _ = a.Do(ctx, "e", fail)
		require.ErrorIs(t, err, boom)
		_, err, _ = b.Do(ctx, "e", fail)
		require.ErrorIs(t, err, boom, "Split(d, 0) keeps no error: fn ran again")

		keepErrs := fleet.WithForget(forget.After(time.Minute))
		c := newGroup[string](t, fleet.WithClock(clock), keepErrs)
		d := newGroup[string](t, fleet.WithClock(clock), keepErrs)
		_, err, _ = c.Do(ctx, "e2", fail)
		require.ErrorIs(t, err, boom)
		re := retainedError(t, ctx, d, "e2", fail, &runs)
		assert.Equal(t, "boom", re.Message)
	})

	t.Run("context errors are never retained", func(t *testing.T) {
		c := newGroup[string](t, fleet.WithClock(clock), fleet.WithForget(forget.After(time.Minute)))
		for i, cerr := range []error{context.Canceled, context.DeadlineExceeded, flight.ErrAbandoned, fmt.Errorf("wrapped: %w", context.Canceled)} {
			key := fmt.Sprint("c", i)
			_, err, _ := c.Do(ctx, key, func(context.Context) (string, error) { return "", cerr })
			require.ErrorIs(t, err, cerr)
			assertNoKey(t, ctx, rdb, outKey(t, key), "%v retained", cerr)
		}
	})
}

// retainedError calls g.Do(key) and returns the RemoteError it receives,
// retained by another process: shared, and fn not called.
func retainedError(t *testing.T, ctx context.Context, g *fleet.Group[string], key string,
	fn func(context.Context) (string, error), runs *int) *fleet.RemoteError {
	t.Helper()
	before := *runs
	_, err, shared := g.Do(ctx, key, fn)
	var re *fleet.RemoteError
	require.ErrorAs(t, err, &re)
	assert.True(t, shared)
	assert.Equal(t, before, *runs, "a retained error: fn not called")
	return re
}

// assertNoKey checks that Redis holds no key named key.
func assertNoKey(t *testing.T, ctx context.Context, rdb *redis.Client, key string, msgAndArgs ...any) {
	t.Helper()
	n, err := rdb.Exists(ctx, key).Result()
	require.NoError(t, err)
	assert.Zero(t, n, msgAndArgs...)
}

func outKey(t *testing.T, key string) string {
	_, out, _ := fleet.Names(prefix(t), key)
	return out
}

// FL7 with retention: an unreadable retained frame is a miss, counted,
// never a value: fn runs under the lease and its outcome replaces it.
func TestBadRetainedPayload(t *testing.T) {
	ctx := within(t, 10*time.Second)
	clock := fleet.NewManualClock()
	rdb := newClient(t, redisAddr)
	g := groupOn[int](t, rdb, fleet.WithClock(clock), fleet.WithForget(forget.Split(time.Minute, 0)))
	garbage := map[string]string{
		"garbage":         "\x00\xffnot a frame",
		"empty":           "",
		"newer version":   "\x02V\x01\x01\x01{}",
		"codec rejects":   string(fleet.ValueFrame([]byte(`"not an int"`))),
		"truncated":       string(fleet.ValueFrame([]byte(`7`)))[:3],
		"release notice":  string(fleet.ReleasedFrame()),
		"error, too long": string(fleet.ErrorFrame("", string(make([]byte, 2<<20)))),
	}
	i := 0
	for name, payload := range garbage {
		key := fmt.Sprint("k", i)
		out := outKey(t, key)
		i++
		t.Run(name, func(t *testing.T) {
			require.NoError(t, rdb.Set(ctx, out, payload, time.Minute).Err())
			before := g.Stats()
			v, err, shared := g.Do(ctx, key, func(context.Context) (int, error) { return 7, nil })
			require.NoError(t, err)
			assert.Equal(t, 7, v)
			assert.False(t, shared)
			after := g.Stats()
			assert.Equal(t, before.BadPayloads+1, after.BadPayloads)
			assert.Equal(t, before.Leads+1, after.Leads)
			// Replaced: the next call is a hit.
			v, err, shared = g.Do(ctx, key, func(context.Context) (int, error) { return -1, nil })
			require.NoError(t, err)
			assert.Equal(t, 7, v)
			assert.True(t, shared)
		})
	}
}

// The XFetch rule, checked statistically: over many draws the share of
// early refreshes is exp(-left/(delta*beta)), within five standard
// deviations of a binomial (a false alarm once in about 1.7 million runs
// per point), for the rule itself and for a group's decision with its own
// random source.
func TestXFetchStatistics(t *testing.T) {
	const draws = 20000
	g := newGroup[int](t, fleet.WithForget(forget.Split(time.Minute, 0)))
	for _, tc := range []struct {
		left, delta time.Duration
		beta        float64
	}{
		{0, 10 * time.Millisecond, 1},
		{10 * time.Millisecond, 10 * time.Millisecond, 1},
		{7 * time.Millisecond, 10 * time.Millisecond, 1}, // ln 2 delta: one half
		{30 * time.Millisecond, 10 * time.Millisecond, 1},
		{30 * time.Millisecond, 10 * time.Millisecond, 3},
		{30 * time.Millisecond, 10 * time.Millisecond, 0.5},
		{time.Second, 200 * time.Millisecond, 2},
	} {
		want := math.Exp(-float64(tc.left) / (float64(tc.delta) * tc.beta))
		tol := 5*math.Sqrt(want*(1-want)/draws) + 1.0/draws
		rule, group := 0, 0
		fg := newGroup[int](t, fleet.WithForget(forget.Split(time.Minute, 0)), fleet.WithEarlyRefresh(tc.beta))
		for range draws {
			u := 1 - rand.Float64()
			if fleet.XFetch(tc.left, tc.delta, tc.beta, u) {
				rule++
			}
			if fleet.Early(fg, tc.left, tc.delta) {
				group++
			}
		}
		name := fmt.Sprintf("left=%v delta=%v beta=%v", tc.left, tc.delta, tc.beta)
		t.Logf("%s: want %.4f, rule %.4f, group %.4f (tolerance %.4f)", name, want,
			float64(rule)/draws, float64(group)/draws, tol)
		assert.InDelta(t, want, float64(rule)/draws, tol, name)
		assert.InDelta(t, want, float64(group)/draws, tol, name)
	}
	assert.False(t, fleet.Early(g, 0, 0), "no compute time: no early refresh")
	off := newGroup[int](t, fleet.WithEarlyRefresh(0), fleet.WithRand(always))
	assert.False(t, fleet.Early(off, time.Millisecond, time.Hour), "beta 0: never")
}

// FL8 early refresh: a call that draws a refresh returns the retained value
// at once and so does every call while the refresh runs; the refresh runs
// once in the fleet (a second process's draw finds the lease taken and does
// nothing), detached from the call that started it (its values, not its
// cancellation, the call timeout), and its outcome replaces the retained
// one for everybody.
func TestEarlyRefresh(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	opts := append([]fleet.Option{fleet.WithClock(clock), fleet.WithForget(forget.Split(10*time.Second, 0)),
		fleet.WithCallTimeout(time.Hour)}, refreshAlways...)
	rdb, cmds := countedClient(t)
	a := groupOn[string](t, rdb, opts...)
	b := newGroup[string](t, opts...)
	aEvents, bEvents := eventLog(a), eventLog(b)
	runs := 0
	_, err, _ := a.Do(ctx, "k", value(clock, 100*time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	frames := published(t, ctx, "k")

	started, release := make(chan struct{}), make(chan struct{})
	type seen struct {
		value    any
		err      error
		deadline bool
	}
	saw := make(chan seen, 1)
	refresh := func(ctx context.Context) (string, error) {
		_, dl := ctx.Deadline()
		close(started)
		<-release
		saw <- seen{ctx.Value(ctxKey{}), ctx.Err(), dl}
		return "v2", nil
	}
	cctx, cancel := context.WithCancel(context.WithValue(ctx, ctxKey{}, "starter"))
	r := a.DoResult(cctx, "k", refresh)
	require.NoError(t, r.Err)
	assert.Equal(t, "v1", r.Val, "the caller that draws the refresh does not wait for it")
	assert.False(t, r.Stale)
	cancel() // the refresh does not depend on its starter
	recv(t, ctx, started, "the refresh")
	cmds.take()

	for _, g := range []*fleet.Group[string]{a, b, a, b} {
		r := g.DoResult(ctx, "k", refresh) // draws again: nothing starts
		require.NoError(t, r.Err)
		assert.Equal(t, "v1", r.Val, "served while the refresh runs")
	}
	assert.Equal(t, 2, count(bEvents, "early"))
	close(release)
	assert.Equal(t, seen{"starter", nil, true}, recv(t, ctx, saw, "the refresh's context"))
	recv(t, ctx, frames, "the refresh's outcome")
	assert.Equal(t, 1, count(aEvents, "refresh")+count(bEvents, "refresh"), "one refresh in the fleet")
	assert.Equal(t, uint64(1), a.Stats().Refreshes+b.Stats().Refreshes)

	r = b.DoResult(ctx, "k", value(clock, 0, "v3", &runs))
	require.NoError(t, r.Err)
	assert.Equal(t, "v2", r.Val, "replaced")
	assert.Zero(t, r.Age)
	assert.Equal(t, 1, runs)
	require.NoError(t, a.Close()) // waits for a's refreshes
	assert.ElementsMatch(t, []string{"get", "get", "evalsha"}, cmds.take(),
		"a's two calls look once each; its draws while its refresh runs do not even look at Redis")
}

// Close cancels a running refresh (cause ErrClosed), waits for it, and its
// lease is released.
func TestCloseCancelsRefresh(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	rdb := newClient(t, redisAddr)
	g := groupOn[string](t, rdb, fleet.WithClock(clock), fleet.WithForget(forget.Split(time.Minute, 0)), refreshAlways[0], refreshAlways[1])
	runs := 0
	_, err, _ := g.Do(ctx, "k", value(clock, time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	started := make(chan struct{})
	cause := make(chan error, 1)
	v, err, _ := g.Do(ctx, "k", func(ctx context.Context) (string, error) {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return "", ctx.Err()
	})
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	recv(t, ctx, started, "the refresh")
	require.NoError(t, g.Close())
	select {
	case err := <-cause:
		require.ErrorIs(t, err, fleet.ErrClosed)
	default:
		t.Fatal("Close returned before the refresh ended")
	}
	lease, _, _ := fleet.Names(prefix(t), "k")
	assertNoKey(t, ctx, rdb, lease, "the refresh's lease is released")
}

// A call that arrives after the expiry while a refresh that began before
// it still runs is served the expired value, marked stale, at once.
func TestStaleWhileRefreshing(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	opts := []fleet.Option{fleet.WithClock(clock), fleet.WithForget(forget.Split(10*time.Second, 0))}
	a := newGroup[string](t, append(opts, refreshAlways...)...)
	b := newGroup[string](t, append(opts, fleet.WithRand(never))...)
	runs := 0
	_, err, _ := a.Do(ctx, "k", value(clock, 100*time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	started, release := make(chan struct{}), make(chan struct{})
	frames := published(t, ctx, "k")
	v, err, _ := a.Do(ctx, "k", func(context.Context) (string, error) {
		close(started)
		<-release
		return "v2", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	recv(t, ctx, started, "the refresh")

	clock.Advance(11 * time.Second) // past the expiry
	r := b.DoResult(ctx, "k", value(clock, 0, "b", &runs))
	require.NoError(t, r.Err)
	assert.Equal(t, "v1", r.Val)
	assert.True(t, r.Stale)
	assert.Equal(t, 11*time.Second, r.Age)
	assert.Equal(t, uint64(1), b.Stats().Stale)
	close(release)
	recv(t, ctx, frames, "the refresh's outcome")
	r = b.DoResult(ctx, "k", value(clock, 0, "b", &runs))
	assert.Equal(t, fleet.Result[string]{Val: "v2", Shared: true}, r)
	assert.Equal(t, 1, runs)
}

// FL8 stale-if-error: a failed refresh leaves the retained value in place,
// served as fresh until its window ends; after the window, a failed call
// serves it marked stale until the stale-if-error window ends too, and only
// then returns the error; a call after the backend recovers replaces it.
func TestStaleIfError(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	boom := errors.New("backend down")
	opts := []fleet.Option{fleet.WithClock(clock), fleet.WithForget(forget.After(10 * time.Second)),
		fleet.WithStaleIfError(30 * time.Second)}
	a := newGroup[string](t, append(opts, refreshAlways...)...)
	b := newGroup[string](t, append(opts, fleet.WithRand(never))...)
	runs := 0
	_, err, _ := a.Do(ctx, "k", value(clock, 100*time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	frames := published(t, ctx, "k")
	failing := func(context.Context) (string, error) { runs++; return "", boom }

	// A refresh fails: the value stays, fresh, even though the policy
	// retains errors.
	v, err, _ := a.Do(ctx, "k", failing)
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	kind, _, _, _, _ := fleet.DecodeFrame(recv(t, ctx, frames, "the failed refresh"))
	assert.Equal(t, byte('E'), kind)
	r := b.DoResult(ctx, "k", failing)
	assert.Equal(t, fleet.Result[string]{Val: "v1", Shared: true}, r)

	// After the window, within stale-if-error: the call fails, the value
	// is served stale.
	clock.Advance(15 * time.Second)
	r = b.DoResult(ctx, "k", failing)
	require.NoError(t, r.Err)
	assert.Equal(t, "v1", r.Val)
	assert.True(t, r.Stale)
	assert.Equal(t, 15*time.Second, r.Age)
	assert.Equal(t, uint64(1), b.Stats().Stale)

	// In another process, following a leader that fails: stale too.
	started, release := make(chan struct{}), make(chan struct{})
	waiting := events(b, "waiting")
	aDone := make(chan fleet.Result[string], 1)
	go func() {
		aDone <- a.DoResult(ctx, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "", boom
		})
	}()
	recv(t, ctx, started, "the leader")
	bDone := make(chan fleet.Result[string], 1)
	go func() { bDone <- b.DoResult(ctx, "k", failing) }()
	recv(t, ctx, waiting, "the follower")
	close(release)
	for _, r := range []fleet.Result[string]{recv(t, ctx, aDone, "the leader"), recv(t, ctx, bDone, "the follower")} {
		require.NoError(t, r.Err)
		assert.Equal(t, "v1", r.Val)
		assert.True(t, r.Stale)
	}

	// After the stale-if-error window: the error, now retained as the
	// policy says, since there is no value left to keep.
	clock.Advance(30 * time.Second)
	_, err, _ = b.Do(ctx, "k", failing)
	require.ErrorIs(t, err, boom)
	retainedError(t, ctx, a, "k", failing, &runs)

	// The backend is back: the next call after the error's window
	// replaces it.
	clock.Advance(10 * time.Second)
	r = b.DoResult(ctx, "k", value(clock, 0, "v2", &runs))
	assert.Equal(t, fleet.Result[string]{Val: "v2", Shared: true}, r, "shared with the test's subscriber")
	r = a.DoResult(ctx, "k", failing)
	assert.Equal(t, fleet.Result[string]{Val: "v2", Shared: true}, r)
}

// A panic in fn during a refresh reaches the panic handler (nobody waits
// for a refresh to hand it to), and the lease is released at once.
func TestRefreshPanic(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	rdb := newClient(t, redisAddr)
	panics := make(chan *flight.PanicError, 1)
	g := groupOn[string](t, rdb, append([]fleet.Option{fleet.WithClock(clock),
		fleet.WithForget(forget.Split(time.Minute, 0)),
		fleet.WithPanicHandler(func(pe *flight.PanicError) { panics <- pe })}, refreshAlways...)...)
	runs := 0
	_, err, _ := g.Do(ctx, "k", value(clock, time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	v, err, _ := g.Do(ctx, "k", func(context.Context) (string, error) { panic("refresh broke") })
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	pe := recv(t, ctx, panics, "the panic")
	assert.Equal(t, "refresh broke", pe.Value)
	assert.NotEmpty(t, pe.Stack)
	require.NoError(t, g.Close()) // waits for the refresh
	lease, _, _ := fleet.Names(prefix(t), "k")
	assertNoKey(t, ctx, rdb, lease, "released")
}

// Without a panic handler, a panic in a refresh crashes the process, as an
// unrecovered panic on any goroutine does: it is never swallowed.
func TestRefreshPanicCrashes(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"=refreshpanic", addrEnv+"="+redisAddr,
		prefixEnv+"="+prefix(t)+fmt.Sprint(rand.Uint64()), ttlEnv+"=10s", argEnv+"=null") // a key never filled
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, stderr.String())
		assert.Equal(t, 2, ee.ExitCode(), "the exit code of an unrecovered panic")
		assert.Contains(t, stderr.String(), "refresh broke")
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the worker did not crash")
	}
}

// Local copies: an outcome retained in Redis is kept in memory too, until
// its expiry: calls within the window need no round trip, still draw
// refreshes, and a newer outcome stored by another process reaches this
// one when its copy expires. The number of copies is bounded, and Close
// drops them with their timers.
func TestLocalCopies(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	opts := []fleet.Option{fleet.WithClock(clock), fleet.WithForget(forget.Split(10*time.Second, 0))}
	rdb, cmds := countedClient(t)
	a := groupOn[string](t, rdb, append(opts, fleet.WithLocalCopies(1), fleet.WithEarlyRefresh(0))...)
	b := newGroup[string](t, append(opts, refreshAlways...)...)
	runs := 0
	_, err, _ := a.Do(ctx, "k", value(clock, 100*time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	cmds.take()
	clock.Advance(2 * time.Second)
	r := a.DoResult(ctx, "k", value(clock, 0, "other", &runs))
	assert.Equal(t, fleet.Result[string]{Val: "v1", Shared: true, Age: 2 * time.Second}, r)
	assert.Empty(t, cmds.take(), "no round trip")
	assert.Equal(t, uint64(1), a.Stats().LocalHits)

	// Another process refreshes: this one keeps its copy to its expiry.
	frames := published(t, ctx, "k")
	v, err, _ := b.Do(ctx, "k", value(clock, 0, "v2", &runs))
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	recv(t, ctx, frames, "b's refresh")
	v, _, _ = a.Do(ctx, "k", value(clock, 0, "other", &runs))
	assert.Equal(t, "v1", v, "the copy, still within its window")
	clock.Advance(8 * time.Second) // the copy expires
	v, _, _ = a.Do(ctx, "k", value(clock, 0, "other", &runs))
	assert.Equal(t, "v2", v, "the newer outcome, from Redis")
	assert.Equal(t, []string{"get"}, cmds.take())
	v, _, _ = a.Do(ctx, "k", value(clock, 0, "other", &runs))
	assert.Equal(t, "v2", v)
	assert.Empty(t, cmds.take(), "copied again")

	// One copy at most: a second key goes to Redis every time.
	_, _, _ = a.Do(ctx, "k2", value(clock, 0, "w", &runs))
	cmds.take()
	_, _, _ = a.Do(ctx, "k2", value(clock, 0, "other", &runs))
	assert.Equal(t, []string{"get"}, cmds.take())
	assert.Equal(t, 3, runs, "v1, b's refresh, w")

	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	assert.Zero(t, clock.Pending(), "no timer left")
}

// A call answered by a local copy draws early refreshes too, and the
// refresh's outcome replaces the copy.
func TestLocalCopyRefresh(t *testing.T) {
	ctx := within(t, 20*time.Second)
	clock := fleet.NewManualClock()
	rdb, cmds := countedClient(t)
	g := groupOn[string](t, rdb, append([]fleet.Option{fleet.WithClock(clock), fleet.WithLocalCopies(10),
		fleet.WithForget(forget.Split(10*time.Second, 0))}, refreshAlways...)...)
	refreshed := events(g, "refreshed")
	runs := 0
	_, err, _ := g.Do(ctx, "k", value(clock, 100*time.Millisecond, "v1", &runs))
	require.NoError(t, err)
	cmds.take()
	v, err, _ := g.Do(ctx, "k", value(clock, 100*time.Millisecond, "v2", &runs))
	require.NoError(t, err)
	assert.Equal(t, "v1", v, "from the copy, drawing a refresh")
	recv(t, ctx, refreshed, "the refresh")
	assert.Equal(t, []string{"evalsha", "evalsha"}, cmds.take(), "the refresh: acquire, finish")
	assert.Equal(t, 2, runs)
	r := g.DoResult(ctx, "k", value(clock, 0, "v3", &runs))
	assert.Equal(t, "v2", r.Val, "the refresh's outcome, copied")
	assert.Zero(t, r.Age)
	recv(t, ctx, refreshed, "the refresh the copy drew") // the first one let go of the key
	assert.Equal(t, 3, runs)
	st := g.Stats()
	assert.Equal(t, uint64(2), st.LocalHits)
	assert.Equal(t, uint64(2), st.Refreshes)
}

// The documented commands suffice for retention and early refresh too.
func TestACLRetention(t *testing.T) {
	srv := testServer(t)
	ctx := within(t, 10*time.Second)
	aclUser(t, srv.addr)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr, Username: "fleet", Password: "secret", ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	clock := fleet.NewManualClock()
	g := groupOn[string](t, rdb, append([]fleet.Option{fleet.WithClock(clock),
		fleet.WithForget(forget.Split(time.Minute, 0))}, refreshAlways...)...)
	refreshed := events(g, "refreshed")
	runs := 0
	_, err, _ := g.Do(ctx, "k", value(clock, time.Millisecond, "v1", &runs)) // GET, acquire, finish with SET
	require.NoError(t, err)
	v, err, _ := g.Do(ctx, "k", value(clock, time.Millisecond, "v2", &runs)) // GET, then a refresh
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	recv(t, ctx, refreshed, "the refresh")
	v, _, _ = g.Do(ctx, "k", value(clock, 0, "v3", &runs))
	assert.Equal(t, "v2", v)
	assert.Zero(t, g.Stats().RedisErrors)
}
