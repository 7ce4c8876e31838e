package fleet_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aclCommands is the command list of docs/fleet.md ("ACL"): what a group
// sends (get, set, pexpire, del, publish and spublish run inside its
// scripts; ping on its pub/sub connection), plus hello, which go-redis
// sends to set a connection up.
const aclCommands = "+evalsha +eval +get +set +pexpire +del +publish +spublish " +
	"+subscribe +unsubscribe +ssubscribe +sunsubscribe +ping +hello"

// aclUser makes "fleet" (password "secret") a user of the server at addr
// allowed exactly aclCommands and extra, on the keys and channels of the
// test's prefix only.
func aclUser(t *testing.T, addr string, extra ...string) {
	t.Helper()
	p := prefix(t)
	rule := []any{"ACL", "SETUSER", "fleet", "reset", "on", ">secret",
		"~{" + p + ":*", "&{" + p + ":*", "-@all"}
	for _, c := range append(strings.Fields(aclCommands), extra...) {
		rule = append(rule, c)
	}
	require.NoError(t, newClient(t, addr).Do(within(t, 10*time.Second), rule...).Err())
}

// A user allowed exactly the documented commands, on the prefix's keys and
// channels only, can lead and follow.
func TestACL(t *testing.T) {
	srv := testServer(t)
	ctx := within(t, 10*time.Second)
	aclUser(t, srv.addr)
	user := func() *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: srv.addr, Username: "fleet", Password: "secret",
			ContextTimeoutEnabled: true})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	leader, follower := groupOn[string](t, user()), groupOn[string](t, user())
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", "v")
	got := goDo(ctx, follower, "k", returning("follower"))
	recv(t, ctx, waiting, "the follower")
	close(release)
	o := recv(t, ctx, got, "the follower")
	require.NoError(t, o.err)
	assert.Equal(t, "v", o.v)
	<-leaderDone
	assert.Equal(t, uint64(1), follower.Stats().Follows)

	// A takeover: released lease, the follower's PING sync, its lead.
	_, _, ran := whileLeading(t, leader, follower, func(context.Context) (string, error) {
		return "", context.Canceled
	})
	assert.True(t, ran)
	assert.Equal(t, uint64(1), follower.Stats().Takeovers)
	assert.Zero(t, leader.Stats().RedisErrors+follower.Stats().RedisErrors)
}

// In Cluster mode the documented commands and CLUSTER SLOTS (go-redis's
// slot map) suffice: sharded pub/sub, and the scripts on the tagged keys.
func TestClusterACL(t *testing.T) {
	cc := clusterServer(t)
	aclUser(t, cc.Options().Addrs[0], "+cluster|slots")
	user := func() *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cc.Options().Addrs,
			Username: "fleet", Password: "secret", ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		return c
	}
	leader, follower := groupOn[string](t, user()), groupOn[string](t, user())
	_, _, ran := whileLeading(t, leader, follower, returning("v"))
	assert.False(t, ran)
	_, _, ran = whileLeading(t, leader, follower, func(context.Context) (string, error) {
		return "", context.Canceled
	})
	assert.True(t, ran, "a takeover: released lease, PING sync, lead")
	assert.Zero(t, leader.Stats().RedisErrors+follower.Stats().RedisErrors)
}
