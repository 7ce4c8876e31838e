package flight_test

import (
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
