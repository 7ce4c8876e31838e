package flight_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

// TestGroupOldestCall checks that a stuck call shows: OldestCall names the
// oldest running call and its age, counted from the first OldestCall that
// saw it, and ignores retained outcomes and released calls.
func TestGroupOldestCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.New[string, int](flight.WithForget(forget.After(time.Hour)))
		_, _, ok := g.OldestCall()
		require.False(t, ok, "nothing runs")

		stuck := newBlocker()
		r1 := asyncDo(g, "stuck", stuck.fn(1))
		stuck.awaitStart(t)
		key, age, ok := g.OldestCall()
		require.True(t, ok)
		require.Equal(t, "stuck", key)
		require.Zero(t, age, "first seen now")

		time.Sleep(20 * time.Second) // less than the blockers' waitLimit
		recent := newBlocker()
		r2 := asyncDoCtx(t.Context(), g, "recent", recent.fnCtx(2))
		recent.awaitStart(t)
		g.Do("done", constant(3)) // retained, not running
		time.Sleep(time.Second)
		key, age, ok = g.OldestCall()
		require.True(t, ok)
		require.Equal(t, "stuck", key)
		require.Equal(t, 21*time.Second, age)

		g.Forget("stuck") // released: no longer the group's concern
		key, age, ok = g.OldestCall()
		require.True(t, ok)
		require.Equal(t, "recent", key)
		require.Zero(t, age)

		close(stuck.release)
		close(recent.release)
		requireValue(t, recvWithin(t, r1, "stuck"), 1, false)
		requireValue(t, recvWithin(t, r2, "recent"), 2, false)
		_, _, ok = g.OldestCall()
		require.False(t, ok, "only retained outcomes left")
		g.Forget("done")
		g.Forget("recent")
	})
}

// TestGroupStuckCall checks G13's hazard and its bound: the first execution
// hangs (until its context ends), and a request arrives every 10 ms with a
// 50 ms deadline. Without a call timeout every request joins the stuck call
// and fails; with WithCallTimeout the stuck call ends and the requests that
// come after it succeed.
func TestGroupStuckCall(t *testing.T) {
	for _, timeout := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run("timeout="+timeout.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := flight.New[string, int](flight.WithCallTimeout(timeout))
				var runs atomic.Int32
				fn := func(ctx context.Context) (int, error) {
					if runs.Add(1) == 1 {
						<-ctx.Done() // the query that hangs; it honours its context
						return 0, ctx.Err()
					}
					return 1, nil
				}
				const requests = 100
				results := make(chan error, requests)
				for i := range requests {
					if timeout == 0 && (i == 20 || i == 70) { // a monitor looks
						key, age, ok := g.OldestCall()
						require.True(t, ok)
						require.Equal(t, "k", key)
						require.Equal(t, time.Duration(i-20)*10*time.Millisecond, age, "first seen at request 20")
					}
					go func() {
						ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
						defer cancel()
						_, err, _ := g.DoCtx(ctx, "k", fn)
						results <- err
					}()
					time.Sleep(10 * time.Millisecond)
				}
				failed := 0
				for range requests {
					if recvWithin(t, results, "a request") != nil {
						failed++
					}
				}
				if timeout == 0 {
					require.Equal(t, requests, failed, "every request joins the stuck call")
					require.Equal(t, int32(1), runs.Load())
				} else {
					require.LessOrEqual(t, failed, 15, "only the requests that joined the stuck call fail")
				}
			})
		})
	}
}
