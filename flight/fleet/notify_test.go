package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blocked starts a call on g for key whose fn signals started and returns
// v once release is closed. It returns the channel of the call's value.
func blocked[V any](t *testing.T, ctx context.Context, g *fleet.Group[V], key string, v V) (started, release chan struct{}, done <-chan V) {
	t.Helper()
	started, release = make(chan struct{}), make(chan struct{})
	out := make(chan V, 1)
	go func() {
		got, err, _ := g.Do(ctx, key, func(context.Context) (V, error) {
			close(started)
			<-release
			return v, nil
		})
		assert.NoError(t, err)
		out <- got
	}()
	recv(t, ctx, started, "the leader's fn")
	return started, release, out
}

// FL3: a follower is woken by push: with its clock frozen (no safety check
// can run) and after exactly two looks at the lease, it receives the
// leader's outcome as soon as the leader finishes.
func TestFollowerWokenByPush(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t)
	rdb, cmds := countedClient(t)
	clock := fleet.NewManualClock()
	follower := groupOn[string](t, rdb, fleet.WithClock(clock))
	waiting := events(follower, "waiting")

	_, release, leaderDone := blocked(t, ctx, leader, "k", "from leader")
	got := goDo(ctx, follower, "k", func(context.Context) (string, error) {
		t.Error("the follower ran fn")
		return "", nil
	})
	recv(t, ctx, waiting, "the follower to wait")
	assert.Equal(t, []string{"evalsha", "evalsha"}, cmds.take(), "two looks at the lease")
	assert.Equal(t, 1, clock.Pending(), "only the safety check is armed")

	close(release)
	o := recv(t, ctx, got, "the follower's answer")
	require.NoError(t, o.err)
	assert.True(t, o.shared)
	assert.Equal(t, "from leader", o.v)
	assert.Equal(t, "from leader", recv(t, ctx, leaderDone, "the leader's answer"))
	assert.Empty(t, cmds.take(), "no polling")
	assert.Equal(t, uint64(1), follower.Stats().Follows)
}

// FL3: no wake-up is lost when the leader finishes between the follower's
// first look and its subscription: the second look finds the lease free
// and the follower leads.
func TestNoLostWakeupBeforeSubscribe(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t)
	follower := newGroup[string](t, fleet.WithClock(fleet.NewManualClock()))
	_, release, leaderDone := blocked(t, ctx, leader, "k", "first")
	fleet.SetEventHook(follower, func(ev, key string) {
		if ev == "held" {
			close(release)
			<-leaderDone
		}
	})
	v, err, _ := follower.Do(ctx, "k", func(context.Context) (string, error) { return "second", nil })
	require.NoError(t, err)
	assert.Equal(t, "second", v)
	assert.Equal(t, uint64(1), follower.Stats().Leads)
}

// FL3: when the leader finishes between the follower's subscription and
// its second look, the outcome is not lost: the look finds the lease free,
// the follower makes sure that what was published before it has arrived,
// and answers with the leader's outcome without running fn.
func TestNoLostWakeupAfterSubscribe(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t)
	follower := newGroup[string](t, fleet.WithClock(fleet.NewManualClock()))
	_, release, leaderDone := blocked(t, ctx, leader, "k", "first")
	fleet.SetEventHook(follower, func(ev, key string) {
		if ev == "subscribed" {
			close(release)
			<-leaderDone
		}
	})
	v, err, shared := follower.Do(ctx, "k", func(context.Context) (string, error) { return "second", nil })
	require.NoError(t, err)
	assert.Equal(t, "first", v)
	assert.True(t, shared)
	st := follower.Stats()
	assert.Equal(t, uint64(1), st.Follows)
	assert.Zero(t, st.Leads)
}
