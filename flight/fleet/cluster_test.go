package fleet_test

import (
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterServer starts a one-node Redis Cluster that serves every slot.
// Cluster rules hold on one node too: a script's keys must share a slot,
// and sharded pub/sub is what Cluster clients use.
func clusterServer(t *testing.T) *redis.ClusterClient {
	t.Helper()
	srv := testServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	ctx := within(t, 10*time.Second)
	node := newClient(t, srv.addr)
	require.NoError(t, node.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err())
	require.True(t, srv.waitLog(ctx, "Cluster state changed: ok"), "the cluster did not come up")
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.addr}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// FL1, FL3 in Cluster mode: the keys and channel of a flight share a slot
// (the scripts would fail with CROSSSLOT otherwise), and followers use
// sharded pub/sub.
func TestCluster(t *testing.T) {
	cc := clusterServer(t)
	ctx := within(t, 10*time.Second)
	for _, key := range []string{"user:7", "", "}", "a}b{c"} {
		leader := groupOn[string](t, cc)
		follower := groupOn[string](t, cc)
		waiting := events(follower, "waiting")
		_, release, leaderDone := blocked(t, ctx, leader, key, "v"+key)
		got := goDo(ctx, follower, key, returning("follower"))
		recv(t, ctx, waiting, "the follower")
		_, _, channel := fleet.Names(prefix(t), key)
		sharded, err := cc.PubSubShardNumSub(ctx, channel).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), sharded[channel], "a sharded subscription")
		close(release)
		o := recv(t, ctx, got, "the follower")
		require.NoError(t, o.err)
		assert.Equal(t, "v"+key, o.v, "key %q", key)
		assert.Equal(t, "v"+key, recv(t, ctx, leaderDone, "the leader"))
		assert.Zero(t, leader.Stats().RedisErrors+follower.Stats().RedisErrors)
	}
}
