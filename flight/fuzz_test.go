package flight_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

// FuzzGroup decodes its input into a configuration and a sequence of
// operations over three keys and runs them against the sequential model of
// model_test.go, which checks after every step which runs exist, who waits,
// what every finished caller received and the Stats counters.
//
// Input: byte 0 is the configuration (bit 0: WithLinger(time.Hour), bit 1:
// WithCallTimeout(time.Hour), bits 2-3 mod 3: no policy, forget.After(time.Hour),
// forget.Split(time.Hour, 0)). Then each pair (op, arg) is one operation, op
// mod 8:
//
//	0, 1  call: key arg%3, kind arg/3%5 (Do, DoChan, DoCtx, DoCtx with a
//	      ctx that cannot end, DoCtx with a ctx done on entry)
//	2     detach the (arg)-th attached DoCtx waiter (its ctx is cancelled)
//	3     finish the (arg/4)-th running fn with outcome arg%4 (value, error,
//	      panic, Goexit; a panic becomes an error when a DoChan waiter is
//	      attached, since that crashes the process by design)
//	4     Forget(key arg%3)
//	5     ForgetUnshared(key arg%3)
//	6     Cancel(key arg%3, cause if arg/3 is odd)
//	7     nothing (only the checks)
//
// At most fuzzMaxOps operations are run; the rest of the input is ignored.
// The seed corpus is in testdata/fuzz/FuzzGroup.
func FuzzGroup(f *testing.F) {
	for _, seed := range fuzzGroupSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		cfg := mConfig{linger: in[0]&1 != 0, timeout: in[0]&2 != 0, forget: int(in[0]>>2&3) % 3}
		m := newGroupModel(cfg)
		defer m.close(t)
		in = in[1:]
		for n := 0; len(in) >= 2 && n < fuzzMaxOps; n, in = n+1, in[2:] {
			op, arg := in[0]%8, int(in[1])
			switch op {
			case 0, 1:
				m.call(t, mKeys[arg%3], mKind(arg/3%int(mKinds)))
			case 2:
				m.detach(t, arg)
			case 3:
				m.finish(t, arg/4, mOutcome(arg%4))
			case 4:
				m.forget(t, mKeys[arg%3])
			case 5:
				m.forgetUnshared(t, mKeys[arg%3])
			case 6:
				m.cancel(t, mKeys[arg%3], arg/3%2 == 1)
			}
			m.check(t)
		}
	})
}

const fuzzMaxOps = 128

// Operation encoders for the seeds.
func fzCall(key int, k mKind) []byte { return []byte{0, byte(int(k)*3 + key)} }
func fzFinish(i int, o mOutcome) []byte {
	return []byte{3, byte(i*4 + int(o))}
}

var (
	fzDetach0       = []byte{2, 0}
	fzForgetA       = []byte{4, 0}
	fzForgetUnshare = []byte{5, 0}
	fzCancelCauseA  = []byte{6, 3}
)

func fzSeq(cfg byte, ops ...[]byte) []byte {
	b := []byte{cfg}
	for _, op := range ops {
		b = append(b, op...)
	}
	return b
}

// fuzzGroupSeeds are the scenarios of the contract, one per line; the
// same inputs are checked in under testdata/fuzz/FuzzGroup.
var fuzzGroupSeeds = [][]byte{
	// G2: a Do leader and a joiner share a value.
	fzSeq(0, fzCall(0, mDo), fzCall(0, mDo), fzFinish(0, mValue)),
	// G7e: both DoCtx waiters leave, the run is abandoned, the next call starts afresh.
	fzSeq(0, fzCall(0, mDoCtx), fzCall(0, mDoCtx), fzDetach0, fzDetach0, fzCall(0, mDo), fzFinish(0, mValue), fzFinish(0, mError)),
	// G7e with linger: the last waiter leaves, a retry re-attaches to the same run.
	fzSeq(1, fzCall(0, mDoCtx), fzDetach0, fzCall(0, mDoCtx), fzFinish(0, mValue)),
	// F1, F3: a retained value is a hit until Forget.
	fzSeq(4, fzCall(0, mDo), fzFinish(0, mValue), fzCall(0, mDoChan), fzCall(0, mDoCtx), fzForgetA, fzCall(0, mDo), fzFinish(0, mValue)),
	// G5: a panic with every waiter gone goes to the handler.
	fzSeq(0, fzCall(0, mDoCtx), fzDetach0, fzFinish(0, mPanic)),
	// G5, G10: a panic reaches Do and DoCtx waiters of one run.
	fzSeq(2, fzCall(1, mDo), fzCall(1, mDoCtx), fzCall(1, mDoCtxBg), fzFinish(0, mPanic)),
	// G6, G10: Goexit with every kind of waiter.
	fzSeq(0, fzCall(2, mDoCtxBg), fzCall(2, mDo), fzCall(2, mDoChan), fzCall(2, mDoCtx), fzFinish(0, mGoexit)),
	// Cancel: the key is released, the waiters keep waiting, the outcome is not retained.
	fzSeq(6, fzCall(0, mDoCtx), fzCall(0, mDo), fzCancelCauseA, fzCall(0, mDoCtx), fzFinish(0, mValue), fzCall(0, mDo), fzFinish(0, mValue)),
	// ForgetUnshared refuses while two wait, and forgets once one is left.
	fzSeq(0, fzCall(0, mDoCtx), fzCall(0, mDoCtx), fzForgetUnshare, fzDetach0, fzForgetUnshare, fzCall(0, mDoChan), fzFinish(0, mGoexit), fzFinish(0, mValue)),
	// G7c: a ctx done on entry neither starts nor joins.
	fzSeq(8, fzCall(0, mDoCtxDone), fzCall(0, mDo), fzCall(0, mDoCtxDone), fzFinish(0, mError), fzCall(0, mDoCtxDone)),
}

// FuzzOptions builds a group from fuzzed option values. Negative durations
// must panic at construction with a message starting with the package name,
// others must build a group that answers every call without hanging, with
// the retention, call timeout and linger behaviour the values ask for.
// policy%3 selects forget.After(values), forget.Split(values, errs) or
// forget.Func returning fn (where negative means forget at once).
func FuzzOptions(f *testing.F) {
	for _, s := range [][6]int64{
		{0, 0, 0, 0, 0, 0},
		{-1, 0, 0, 0, 0, 0},
		{0, -1, 0, 0, 0, 1},
		{0, 0, -1, 0, 0, 0},
		{0, 0, 0, -1, 0, 1},
		{0, 0, 0, 0, -1, 2},
		{1, 1, 1, 1, 1, 0},
		{int64(time.Hour), int64(time.Hour), int64(time.Hour), 0, 0, 1},
		{int64(time.Hour), 0, 0, 0, int64(time.Hour), 2},
		{-1 << 63, -1 << 63, -1 << 63, -1 << 63, -1 << 63, 0},
		{1<<63 - 1, 1<<63 - 1, 1<<63 - 1, 1<<63 - 1, 1<<63 - 1, 1},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], uint8(s[5]))
	}
	f.Fuzz(func(t *testing.T, linger, timeout, values, errs, fn int64, policy uint8) {
		var opts []flight.Option
		add := func(neg bool, prefix string, mk func() flight.Option) {
			t.Helper()
			if o := fzBuild(t, neg, prefix, mk); o != nil {
				opts = append(opts, o)
			}
		}
		add(linger < 0, "flight: ", func() flight.Option { return flight.WithLinger(time.Duration(linger)) })
		add(timeout < 0, "flight: ", func() flight.Option { return flight.WithCallTimeout(time.Duration(timeout)) })
		var keep time.Duration // how long the policy keeps a value
		switch policy % 3 {
		case 0:
			add(values < 0, "forget: ", func() flight.Option { return flight.WithForget(forget.After(time.Duration(values))) })
			keep = time.Duration(values)
		case 1:
			add(values < 0 || errs < 0, "forget: ", func() flight.Option {
				return flight.WithForget(forget.Split(time.Duration(values), time.Duration(errs)))
			})
			if values >= 0 && errs >= 0 {
				keep = time.Duration(values)
			}
		case 2:
			add(false, "", func() flight.Option {
				return flight.WithForget(forget.Func(func(error) time.Duration { return time.Duration(fn) }))
			})
			keep = time.Duration(fn)
		}
		g := flight.New[string, int](opts...)
		defer func() {
			for _, k := range []string{"k", "ctx", "l"} {
				g.Forget(k) // stop retention timers
			}
		}()
		fzRetention(t, g, keep)
		if timeout < 0 {
			timeout = 0
		}
		fzCallTimeout(t, g, time.Duration(timeout))
		if linger < 0 {
			linger = 0
		}
		if timeout == 0 || time.Duration(timeout) >= time.Minute {
			fzLinger(t, g, time.Duration(linger))
		}
		deadline := time.Now().Add(mWait)
		for g.InFlight() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("InFlight = %d at rest", g.InFlight())
			}
			time.Sleep(50 * time.Microsecond) // polling, bounded by deadline
		}
	})
}

// fzBuild calls mk, which must panic with a message starting with prefix
// when neg is true, and must not panic otherwise.
func fzBuild(t *testing.T, neg bool, prefix string, mk func() flight.Option) (o flight.Option) {
	t.Helper()
	var p any
	func() {
		defer func() { p = recover() }()
		o = mk()
	}()
	switch {
	case neg && p == nil:
		t.Fatalf("a negative duration was accepted")
	case !neg && p != nil:
		t.Fatalf("a valid duration panicked: %v", p)
	case neg && !strings.HasPrefix(fmt.Sprint(p), prefix):
		t.Fatalf("panic %q does not start with %q", p, prefix)
	}
	return o
}

// fzRetention checks that a value is kept for keep: certainly not when keep
// is zero or less, certainly when it is at least a minute.
func fzRetention(t *testing.T, g *flight.Group[string, int], keep time.Duration) {
	t.Helper()
	v, err, shared := g.Do("k", func() (int, error) { return 1, nil })
	if v != 1 || err != nil || shared {
		t.Fatalf("first Do = %d, %v, %v", v, err, shared)
	}
	v, err, shared = g.Do("k", func() (int, error) { return 2, nil })
	switch {
	case err != nil || shared != (v == 1) || v != 1 && v != 2:
		t.Fatalf("second Do = %d, %v, %v", v, err, shared)
	case keep <= 0 && v == 1:
		t.Fatalf("a window of %v retained the value", keep)
	case keep >= time.Minute && v == 2:
		t.Fatalf("a window of %v did not retain the value", keep)
	}
	g.Forget("k")
	if v, _, _ = g.Do("k", func() (int, error) { return 3, nil }); v != 3 {
		t.Fatalf("Do after Forget = %d, want a fresh 3", v)
	}
}

// fzCallTimeout checks that fn's context has a deadline exactly when the
// group has a call timeout.
func fzCallTimeout(t *testing.T, g *flight.Group[string, int], timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	v, err, _ := g.DoCtx(ctx, "ctx", func(fctx context.Context) (int, error) {
		if _, ok := fctx.Deadline(); ok != (timeout > 0) {
			return 0, fmt.Errorf("deadline %v with a call timeout of %v", ok, timeout)
		}
		return 4, nil
	})
	if v != 4 || err != nil {
		t.Fatalf("DoCtx = %d, %v", v, err)
	}
}

// fzLinger detaches the only waiter of a running call and calls again: with
// no linger the call was abandoned and a fresh one runs; with a linger of a
// minute or more the new caller re-attaches to the running one.
func fzLinger(t *testing.T, g *flight.Group[string, int], linger time.Duration) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	slow := func(fctx context.Context) (int, error) {
		close(started)
		select {
		case <-release:
			return 10, nil
		case <-fctx.Done():
			return 0, context.Cause(fctx)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err, _ := g.DoCtx(ctx, "l", slow)
		first <- err
	}()
	fzRecv(t, started, "the first fn to start")
	cancel()
	if err := fzRecv(t, first, "the first caller to leave"); !errors.Is(err, context.Canceled) {
		t.Fatalf("the detached caller got %v", err)
	}

	before := g.Stats()
	second := make(chan int, 1)
	go func() {
		v, _, _ := g.DoCtx(context.Background(), "l", func(context.Context) (int, error) { return 20, nil })
		second <- v
	}()
	deadline := time.Now().Add(mWait)
	for s := g.Stats(); s.Joins == before.Joins && s.Executions == before.Executions; s = g.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the second caller neither joined nor started")
		}
		time.Sleep(50 * time.Microsecond) // polling, bounded by deadline
	}
	close(release)
	v := fzRecv(t, second, "the second caller")
	switch {
	case v != 10 && v != 20:
		t.Fatalf("the second caller got %d", v)
	case linger == 0 && v == 10:
		t.Fatalf("without linger the second caller joined the abandoned call")
	case linger >= time.Minute && v == 20:
		t.Fatalf("with a linger of %v the second caller started a new call", linger)
	}
}

func fzRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(mWait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
