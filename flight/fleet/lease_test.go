package fleet_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FL4: the leader renews its lease while fn runs, so a follower never
// takes over from a live leader, however long fn takes.
func TestLeaseRenewed(t *testing.T) {
	const ttl = 300 * time.Millisecond
	ctx := within(t, 20*time.Second)
	leader := newGroup[string](t, fleet.WithLeaseTTL(ttl))
	follower := newGroup[string](t, fleet.WithLeaseTTL(ttl))
	renewals := make(chan struct{}, 100)
	fleet.SetRenewalHook(leader, func(string) bool {
		renewals <- struct{}{}
		return false
	})
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", "v")
	got := goDo(ctx, follower, "k", returning("taken over"))
	recv(t, ctx, waiting, "the follower to wait")
	// Four renewals: fn has run well past the TTL, and the follower has
	// looked again (its safety check) at least once.
	for range 4 {
		recv(t, ctx, renewals, "a renewal")
	}
	recv(t, ctx, waiting, "the follower's safety check")
	close(release)
	o := recv(t, ctx, got, "the follower")
	require.NoError(t, o.err)
	assert.Equal(t, "v", o.v)
	assert.Equal(t, "v", recv(t, ctx, leaderDone, "the leader"))
	assert.Zero(t, follower.Stats().Takeovers)
	assert.Zero(t, leader.Stats().Fenced)
}

// FL4: a leader that stalls past its lease is replaced, and fenced: its
// outcome answers its own callers but is never published, and it does not
// touch the new leader's lease.
func TestLeaseLostIsFenced(t *testing.T) {
	const ttl = 100 * time.Millisecond
	ctx := within(t, 20*time.Second)
	rdb := newClient(t, redisAddr)
	old := groupOn[string](t, rdb, fleet.WithLeaseTTL(ttl))
	newer := newGroup[string](t, fleet.WithLeaseTTL(ttl))
	fleet.SetRenewalHook(old, func(string) bool { return true }) // stalled
	lead := events(newer, "lead")
	lease, _, channel := fleet.Names(prefix(t), "k")

	watch := rdb.Subscribe(ctx, channel)
	defer watch.Close()
	_, err := watch.Receive(ctx) // the confirmation
	require.NoError(t, err)

	_, releaseOld, oldDone := blocked(t, ctx, old, "k", "old")
	newerStarted, releaseNewer := make(chan struct{}), make(chan struct{})
	newerDone := goDo(ctx, newer, "k", func(context.Context) (string, error) {
		close(newerStarted)
		<-releaseNewer
		return "newer", nil
	})
	recv(t, ctx, lead, "the takeover")
	recv(t, ctx, newerStarted, "the new leader's fn")
	newToken, err := rdb.Get(ctx, lease).Result()
	require.NoError(t, err)

	close(releaseOld)
	assert.Equal(t, "old", recv(t, ctx, oldDone, "the old leader's callers"))
	assert.Equal(t, uint64(1), old.Stats().Fenced)
	still, err := rdb.Get(ctx, lease).Result()
	require.NoError(t, err)
	assert.Equal(t, newToken, still, "the new leader's lease is untouched")

	close(releaseNewer)
	o := recv(t, ctx, newerDone, "the new leader")
	require.NoError(t, o.err)
	assert.Equal(t, "newer", o.v)
	msg, err := watch.ReceiveMessage(ctx)
	require.NoError(t, err)
	kind, ok := fleet.FrameKind([]byte(msg.Payload))
	require.True(t, ok)
	assert.Equal(t, byte('V'), kind)
	assert.JSONEq(t, `"newer"`, msg.Payload[len(msg.Payload)-len(`"newer"`):], "the first outcome published is the new leader's")
	st := newer.Stats()
	assert.Equal(t, uint64(1), st.Takeovers)
	assert.Zero(t, st.Follows)
}

// FL4: a follower takes over from a leader that vanished (its lease runs
// out, nobody renews it) within the TTL plus one renewal interval; driven
// by the follower's clock, no waiting. The real crash, with processes, is
// in process_test.go.
func TestTakeoverAfterLeaseRunsOut(t *testing.T) {
	ctx := within(t, 10*time.Second)
	rdb := newClient(t, redisAddr)
	clock := fleet.NewManualClock()
	ttl := time.Minute
	g := groupOn[string](t, newClient(t, redisAddr), fleet.WithLeaseTTL(ttl), fleet.WithClock(clock))
	waiting := events(g, "waiting")
	lease, _, _ := fleet.Names(prefix(t), "k")
	// A leader that crashed: its lease, nobody behind it.
	require.NoError(t, rdb.Set(ctx, lease, "crashed", 0).Err())

	var ran atomic.Bool
	got := goDo(ctx, g, "k", func(context.Context) (string, error) {
		ran.Store(true)
		return "taken over", nil
	})
	recv(t, ctx, waiting, "the follower to wait")
	clock.Advance(ttl) // the first safety check: the lease is still there
	recv(t, ctx, waiting, "the first safety check")
	assert.False(t, ran.Load())
	require.NoError(t, rdb.Del(ctx, lease).Err()) // it runs out
	clock.Advance(ttl / 3)
	o := recv(t, ctx, got, "the takeover")
	require.NoError(t, o.err)
	assert.Equal(t, "taken over", o.v)
	assert.Equal(t, uint64(1), g.Stats().Takeovers)
}
