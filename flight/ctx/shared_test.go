package ctx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

type key struct{}

var errCause = errors.New("test cause")

// waitLimit bounds every wait, so that a bug fails a test instead of hanging
// it (inside a synctest bubble the clock is fake and the limit comes at once
// when nothing else can happen).
const waitLimit = time.Minute

func requireDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	default:
		require.FailNowf(t, "context not done", "%s", what)
	}
	require.Error(t, ctx.Err(), what)
}

func requireLive(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
		require.FailNowf(t, "context done", "%s: %v", what, context.Cause(ctx))
	default:
	}
	require.NoError(t, ctx.Err(), what)
	require.NoError(t, context.Cause(ctx), what)
}

// requirePackagePanic checks that f panics with a message that starts with
// the package name.
func requirePackagePanic(t *testing.T, f func()) {
	t.Helper()
	var r any
	func() {
		defer func() { r = recover() }()
		f()
	}()
	require.NotNil(t, r, "must panic")
	msg := fmt.Sprint(r)
	require.True(t, strings.HasPrefix(msg, "flightctx: "), "panic message %q must start with %q", msg, "flightctx: ")
}

// TestSharedParent checks C1: a Shared has its parent's values for its whole
// life, but not the parent's cancellation or deadline.
func TestSharedParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.WithValue(t.Context(), key{}, "v"), time.Second)
		defer cancel()
		s := flightctx.New(parent)
		require.Equal(t, "v", s.Value(key{}))
		_, ok := s.Deadline()
		require.False(t, ok, "the parent's deadline is not inherited")

		cancel()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		requireLive(t, s, "after the parent ended")
		require.Equal(t, "v", s.Value(key{}), "values outlive the parent")

		s.Release()
		requireDone(t, s, "after the last release")
		require.Equal(t, "v", s.Value(key{}), "values outlive the Shared's cancellation")
	})
}

// TestSharedHolders checks C1's counting: the Shared is cancelled with cause
// ErrAbandoned only when the last holder releases it.
func TestSharedHolders(t *testing.T) {
	s := flightctx.New(context.Background())
	require.Equal(t, 1, s.Holders(), "the creator holds it")
	require.True(t, s.Acquire())
	require.True(t, s.Acquire())
	require.Equal(t, 3, s.Holders())

	require.False(t, s.Release())
	require.False(t, s.Release())
	require.Equal(t, 1, s.Holders())
	requireLive(t, s, "with a holder left")

	require.True(t, s.Acquire(), "a live Shared can be acquired again")
	require.False(t, s.Release())
	requireLive(t, s, "with a holder left")

	require.True(t, s.Release(), "the last release reports it")
	requireDone(t, s, "after the last release")
	require.ErrorIs(t, s.Err(), context.Canceled)
	require.ErrorIs(t, context.Cause(s), flightctx.ErrAbandoned)
	require.Zero(t, s.Holders())
}

// TestSharedCancel checks C1's explicit cancel: at once, whatever the
// holders, with the given cause (context.Canceled for nil); only the first
// cancellation counts.
func TestSharedCancel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cause     error
		wantCause error
	}{
		{"cause", errCause, errCause},
		{"nil cause", nil, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, observed := range []bool{true, false} {
				s := flightctx.New(context.Background())
				if observed {
					// Build the underlying context before the cancel, too.
					requireLive(t, s, "a new Shared")
				}
				require.True(t, s.Acquire())
				s.Cancel(tc.cause)
				requireDone(t, s, "after Cancel")
				require.ErrorIs(t, s.Err(), context.Canceled, "Err is Canceled whatever the cause")
				require.ErrorIs(t, context.Cause(s), tc.wantCause)

				s.Cancel(errors.New("second cause"))
				require.ErrorIs(t, context.Cause(s), tc.wantCause, "only the first cancellation counts")
				require.False(t, s.Release(), "releasing a cancelled Shared is harmless")
				s.Release()
				require.ErrorIs(t, context.Cause(s), tc.wantCause, "the last release keeps the earlier cause")
			}
		})
	}
}

// TestSharedAcquireAfterCancel checks C1: joining a cancelled Shared fails
// rather than reviving it.
func TestSharedAcquireAfterCancel(t *testing.T) {
	t.Run("after the last release", func(t *testing.T) {
		s := flightctx.New(context.Background())
		s.Release()
		require.False(t, s.Acquire())
		require.Zero(t, s.Holders())
		requireDone(t, s, "not revived")
	})
	t.Run("after Cancel", func(t *testing.T) {
		s := flightctx.New(context.Background())
		s.Cancel(errCause)
		require.False(t, s.Acquire())
		require.Equal(t, 1, s.Holders(), "a failed Acquire has no effect")
		requireDone(t, s, "not revived")
	})
}

// TestSharedTimeout checks C1 with WithTimeout: the deadline is reported,
// and passing it cancels the Shared with context.DeadlineExceeded, holders
// or not.
func TestSharedTimeout(t *testing.T) {
	for _, observe := range []bool{true, false} {
		t.Run(fmt.Sprintf("observed before the deadline=%v", observe), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const d = 5 * time.Second
				start := time.Now()
				s := flightctx.New(t.Context(), flightctx.WithTimeout(d))
				deadline, ok := s.Deadline()
				require.True(t, ok)
				require.Equal(t, start.Add(d), deadline)
				require.True(t, s.Acquire())
				if observe {
					time.Sleep(d - time.Nanosecond)
					requireLive(t, s, "just before the deadline")
					<-s.Done()
					require.Equal(t, d, time.Since(start), "cancelled at the deadline")
				} else {
					time.Sleep(2 * d)
				}
				requireDone(t, s, "after the deadline")
				require.True(t, s.Err() == context.DeadlineExceeded, "Err() == DeadlineExceeded, got %v", s.Err())
				require.ErrorIs(t, context.Cause(s), context.DeadlineExceeded)
				require.Equal(t, 2, s.Holders(), "the deadline does not depend on holders")
			})
		})
	}
	t.Run("zero or negative means none", func(t *testing.T) {
		for _, d := range []time.Duration{0, -time.Second} {
			s := flightctx.New(context.Background(), flightctx.WithTimeout(d))
			_, ok := s.Deadline()
			require.False(t, ok)
			requireLive(t, s, "without a deadline")
			s.Release()
		}
	})
	t.Run("release before the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := flightctx.New(t.Context(), flightctx.WithTimeout(time.Hour))
			requireLive(t, s, "new")
			s.Release()
			requireDone(t, s, "after the last release")
			require.ErrorIs(t, context.Cause(s), flightctx.ErrAbandoned)
			// The deadline's timer is stopped: synctest fails the test if
			// anything is left waiting on it.
		})
	})
}

// TestSharedAcquireAfterDeadline checks C1 for a deadline: a Shared whose
// deadline passed is cancelled, so Acquire must fail.
func TestSharedAcquireAfterDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := flightctx.New(t.Context(), flightctx.WithTimeout(time.Second))
		<-s.Done()
		require.True(t, s.Err() == context.DeadlineExceeded)
		require.False(t, s.Acquire(), "a Shared cancelled by its deadline is not revived")
	})
}

// TestSharedCancelBeforeDeadline checks that an explicit Cancel before the
// deadline keeps its cause, even when nobody looked at the context until
// after the deadline.
func TestSharedCancelBeforeDeadline(t *testing.T) {
	for _, observe := range []bool{true, false} {
		t.Run(fmt.Sprintf("observed before the deadline=%v", observe), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := flightctx.New(t.Context(), flightctx.WithTimeout(time.Second))
				if observe {
					requireLive(t, s, "new")
				}
				s.Cancel(errCause)
				time.Sleep(2 * time.Second)
				requireDone(t, s, "after Cancel")
				require.ErrorIs(t, s.Err(), context.Canceled)
				require.ErrorIs(t, context.Cause(s), errCause)
			})
		})
	}
}

// TestSharedChildren checks C1: contexts derived from a Shared see its
// cancellation and cause, and context.AfterFunc fires on it.
func TestSharedChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := flightctx.New(context.WithValue(t.Context(), key{}, "v"))
		child, cancel := context.WithCancel(s)
		defer cancel()
		timed, cancelTimed := context.WithTimeout(s, time.Hour)
		defer cancelTimed()
		fired := make(chan struct{})
		context.AfterFunc(s, func() { close(fired) })
		require.Equal(t, "v", child.Value(key{}))

		require.True(t, s.Acquire())
		s.Release()
		synctest.Wait()
		requireLive(t, child, "child while a holder remains")
		select {
		case <-fired:
			t.Fatal("AfterFunc ran before the Shared was cancelled")
		default:
		}

		s.Release()
		requireDone(t, child, "child of a released Shared")
		requireDone(t, timed, "timed child of a released Shared")
		require.ErrorIs(t, context.Cause(child), flightctx.ErrAbandoned)
		require.ErrorIs(t, context.Cause(timed), flightctx.ErrAbandoned)
		select {
		case <-fired:
		case <-time.After(waitLimit):
			t.Fatal("AfterFunc did not run")
		}

		// A child's own cancellation does not reach the Shared.
		s2 := flightctx.New(t.Context())
		c2, cancel2 := context.WithCancel(s2)
		cancel2()
		requireDone(t, c2, "cancelled child")
		requireLive(t, s2, "parent Shared of a cancelled child")
		s2.Release()
	})
}

// TestSharedInit checks C1 for a Shared embedded in a larger struct.
func TestSharedInit(t *testing.T) {
	var holder struct {
		n int
		s flightctx.Shared
	}
	flightctx.Init(&holder.s, context.WithValue(context.Background(), key{}, "v"), flightctx.WithTimeout(time.Hour))
	require.Equal(t, 1, holder.s.Holders())
	require.Equal(t, "v", holder.s.Value(key{}))
	_, ok := holder.s.Deadline()
	require.True(t, ok)
	requireLive(t, &holder.s, "new")
	holder.s.Release()
	require.ErrorIs(t, context.Cause(&holder.s), flightctx.ErrAbandoned)
}

// TestSharedMisuse checks C1's loud failures: a nil parent, and more
// releases than holders.
func TestSharedMisuse(t *testing.T) {
	var nilCtx context.Context
	requirePackagePanic(t, func() { flightctx.New(nilCtx) })
	requirePackagePanic(t, func() { flightctx.Init(new(flightctx.Shared), nilCtx) })

	s := flightctx.New(context.Background())
	require.True(t, s.Acquire())
	s.Release()
	s.Release()
	requirePackagePanic(t, func() { s.Release() })
	require.Zero(t, s.Holders())

	s = flightctx.New(context.Background())
	s.Cancel(nil)
	s.Release()
	requirePackagePanic(t, func() { s.Release() })
}

// TestSharedConcurrent checks C1 under the race detector: holders come and
// go from many goroutines while others watch the context, and the Shared is
// cancelled exactly when the last one leaves.
func TestSharedConcurrent(t *testing.T) {
	const goroutines = 100
	s := flightctx.New(context.Background())
	var wg sync.WaitGroup
	for range goroutines {
		require.True(t, s.Acquire())
		wg.Go(func() {
			_ = s.Err()
			_ = s.Value(key{})
			_ = s.String()
			if s.Acquire() {
				s.Release()
			}
			select {
			case <-s.Done():
				t.Error("cancelled while holders remain")
			default:
			}
			s.Release()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("timed out")
	}
	requireLive(t, s, "the creator still holds it")
	require.Equal(t, 1, s.Holders())
	require.True(t, s.Release())
	require.ErrorIs(t, context.Cause(s), flightctx.ErrAbandoned)

	// Concurrent cancellations: the first cause wins, and every observer
	// sees the same one.
	s = flightctx.New(context.Background())
	causes := make([]error, goroutines)
	for i := range goroutines {
		causes[i] = fmt.Errorf("cause %d", i)
		wg.Go(func() { s.Cancel(causes[i]) })
		wg.Go(func() { <-s.Done() })
	}
	wg.Wait()
	got := context.Cause(s)
	require.Contains(t, causes, got)
	require.Equal(t, got, context.Cause(s))
}

// TestSharedDeadlinePassedUnobserved checks C1 for a deadline that passed
// before anyone looked at the context (issue 10, item 6): whichever of
// Release, Cancel or Acquire runs first after it, Err() is
// context.DeadlineExceeded, as context.Cause is.
func TestSharedDeadlinePassedUnobserved(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(s *flightctx.Shared)
	}{
		{"Release", func(s *flightctx.Shared) { s.Release() }},
		{"Cancel", func(s *flightctx.Shared) { s.Cancel(errCause) }},
		{"Acquire", func(s *flightctx.Shared) { require.False(t, s.Acquire()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := flightctx.New(t.Context(), flightctx.WithTimeout(time.Second))
				time.Sleep(2 * time.Second)
				tc.act(s)
				requireDone(t, s, "after the deadline")
				require.True(t, s.Err() == context.DeadlineExceeded, "Err() = %v, want DeadlineExceeded", s.Err())
				require.True(t, context.Cause(s) == context.DeadlineExceeded, "Cause = %v", context.Cause(s))
				s.Cancel(nil) // stops the timer, if any
			})
		})
	}
}
