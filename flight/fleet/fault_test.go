package fleet_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FL6: Redis killed in the middle of a run, then restarted on the same
// port. Fail-open callers never see a Redis error: the follower waiting at
// the kill runs fn itself, the leader answers its callers, calls during
// the outage fall back; once the retry interval has passed, coordination
// resumes. goleak (TestMain) checks that nothing is left behind.
func TestRedisKilledAndRestarted(t *testing.T) {
	ctx := within(t, 30*time.Second)
	srv := testServer(t)
	clockA, clockB := fleet.NewManualClock(), fleet.NewManualClock()
	a := groupOn[string](t, newClient(t, srv.addr), fleet.WithClock(clockA))
	b := groupOn[string](t, newClient(t, srv.addr), fleet.WithClock(clockB))
	waiting := events(b, "waiting")
	follow := func(want string) {
		t.Helper()
		_, release, leaderDone := blocked(t, ctx, a, "hot", "from a")
		got := goDo(ctx, b, "hot", returning("from b"))
		recv(t, ctx, waiting, "b to wait")
		close(release)
		o := recv(t, ctx, got, "b")
		require.NoError(t, o.err)
		assert.Equal(t, want, o.v)
		assert.Equal(t, "from a", recv(t, ctx, leaderDone, "a"))
	}

	follow("from a") // coordinated
	require.Equal(t, uint64(1), b.Stats().Follows)

	// Kill it while b waits for a.
	_, release, leaderDone := blocked(t, ctx, a, "hot", "from a")
	got := goDo(ctx, b, "hot", returning("from b"))
	recv(t, ctx, waiting, "b to wait")
	srv.kill()
	o := recv(t, ctx, got, "b, after the kill")
	require.NoError(t, o.err)
	assert.Equal(t, "from b", o.v, "b ran fn itself")
	close(release)
	assert.Equal(t, "from a", recv(t, ctx, leaderDone, "a, after the kill"))

	// During the outage: no errors, fallbacks.
	var wg sync.WaitGroup
	for i := range 20 {
		for _, g := range []*fleet.Group[string]{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprint(i % 4)
				v, err, _ := g.Do(ctx, key, func(context.Context) (string, error) { return key, nil })
				assert.NoError(t, err)
				assert.Equal(t, key, v)
			}()
		}
	}
	wg.Wait()
	assert.NotZero(t, a.Stats().Fallbacks)
	assert.NotZero(t, b.Stats().Fallbacks)

	// Back, and once the retry interval has passed, coordinated again.
	require.NoError(t, srv.restart())
	clockA.Advance(time.Minute)
	clockB.Advance(time.Minute)
	follows := b.Stats().Follows
	follow("from a")
	assert.Equal(t, follows+1, b.Stats().Follows)
}
