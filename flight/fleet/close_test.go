package fleet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// pubsubClients counts the pub/sub connections open on the shared Redis
// whose name-less clients subscribe to channels of this test's prefix.
func pubsubClients(t *testing.T) int {
	t.Helper()
	list, err := newClient(t, redisAddr).ClientList(t.Context()).Result()
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "flags=P") {
			n++
		}
	}
	return n
}

// FL9: a group uses one pub/sub connection, however many keys its
// followers wait on; it is closed once unused (idle), and then the group
// holds no goroutine.
func TestOnePubSubConnectionAtMost(t *testing.T) {
	if !realServer {
		t.Skip("needs CLIENT LIST of a real server")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := within(t, 10*time.Second)
	before := pubsubClients(t)
	leader := newGroup[int](t)
	clock := fleet.NewManualClock()
	follower := newGroup[int](t, fleet.WithClock(clock))
	waiting := events(follower, "waiting")

	var releases []chan struct{}
	var leaderDone []<-chan int
	for i := range 3 {
		_, release, done := blocked(t, ctx, leader, fmt.Sprint(i), i)
		releases, leaderDone = append(releases, release), append(leaderDone, done)
	}
	var got []<-chan outcome[int]
	for i := range 3 {
		got = append(got, goDo(ctx, follower, fmt.Sprint(i), returning(-1)))
		recv(t, ctx, waiting, "a follower")
	}
	assert.Equal(t, before+1, pubsubClients(t), "one connection for three keys")
	for i := range 3 {
		close(releases[i])
		<-leaderDone[i]
		o := recv(t, ctx, got[i], "a follower")
		require.NoError(t, o.err)
		assert.Equal(t, i, o.v)
	}
	clock.Advance(time.Minute) // idle
	assert.Equal(t, before, pubsubClients(t), "closed once idle")
	// The deferred goleak check: no goroutine of the group is left.
}

// FL9: Close answers the waiting followers with ErrClosed, and later calls
// too; a second Close is harmless.
func TestClose(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[int](t)
	follower := newGroup[int](t, fleet.WithClock(fleet.NewManualClock()))
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", 1)
	got := goDo(ctx, follower, "k", returning(-1))
	recv(t, ctx, waiting, "the follower")
	require.NoError(t, follower.Close())
	require.ErrorIs(t, recv(t, ctx, got, "the follower").err, fleet.ErrClosed)
	_, err, _ := follower.Do(ctx, "k", func(context.Context) (int, error) { return -1, nil })
	require.ErrorIs(t, err, fleet.ErrClosed)
	require.NoError(t, follower.Close())
	close(release)
	assert.Equal(t, 1, recv(t, ctx, leaderDone, "the leader"))
}

// A leader's calls go on through Close and still publish.
func TestCloseWhileLeading(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[int](t)
	follower := newGroup[int](t)
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", 1)
	got := goDo(ctx, follower, "k", returning(-1))
	recv(t, ctx, waiting, "the follower")
	require.NoError(t, leader.Close())
	close(release)
	assert.Equal(t, 1, recv(t, ctx, leaderDone, "the leader"))
	o := recv(t, ctx, got, "the follower")
	require.NoError(t, o.err)
	assert.Equal(t, 1, o.v)
}

// FL9: a channel stays subscribed after its last follower leaves, but no
// more than 256 of them: the 257th idle channel unsubscribes them all, in
// one UNSUBSCRIBE (which the documented ACL allows).
func TestIdleChannelsUnsubscribed(t *testing.T) {
	const idle = 257
	srv := testServer(t)
	ctx := within(t, 10*time.Second)
	aclUser(t, srv.addr)
	leader := groupOn[int](t, newClient(t, srv.addr))
	user := redis.NewClient(&redis.Options{Addr: srv.addr, Username: "fleet", Password: "secret",
		ContextTimeoutEnabled: true})
	t.Cleanup(func() { user.Close() })
	follower := groupOn[int](t, user, fleet.WithClock(fleet.NewManualClock()))
	waiting := events(follower, "waiting")
	follow := func(i int) {
		key := fmt.Sprint(i)
		_, release, leaderDone := blocked(t, ctx, leader, key, i)
		got := goDo(ctx, follower, key, returning(-1))
		recv(t, ctx, waiting, "the follower")
		close(release)
		o := recv(t, ctx, got, "the follower")
		require.NoError(t, o.err)
		require.Equal(t, i, o.v)
		<-leaderDone
	}
	channels := make([]string, idle+1)
	for i := range channels {
		_, _, channels[i] = fleet.Names(prefix(t), fmt.Sprint(i))
	}
	for i := range idle {
		follow(i)
	}
	// The next follower's SUBSCRIBE is confirmed after the UNSUBSCRIBE.
	follow(idle)
	subs, err := newClient(t, srv.addr).PubSubNumSub(ctx, channels...).Result()
	require.NoError(t, err)
	for i, ch := range channels[:idle] {
		require.Zero(t, subs[ch], "channel %d is still subscribed", i)
	}
	assert.Equal(t, int64(1), subs[channels[idle]], "the newest channel stays subscribed, idle")
	assert.Equal(t, uint64(idle+1), follower.Stats().Follows)
	assert.Zero(t, follower.Stats().RedisErrors)
}
