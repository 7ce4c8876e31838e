package fleet_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// FL6: with Redis unreachable, calls do not fail: fn runs, coalesced
// inside the process, and the fallback is counted. Until the retry
// interval passes, calls do not even try Redis.
func TestRedisUnreachableFailOpen(t *testing.T) {
	ctx := within(t, 10*time.Second)
	clock := fleet.NewManualClock()
	g := groupOn[int](t, newClient(t, closedAddr(t)), fleet.WithClock(clock), fleet.WithRetryAfter(time.Second))

	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) {
				runs.Add(1)
				<-release
				return 1, nil
			})
			assert.NoError(t, err)
			assert.Equal(t, 1, v)
		}()
	}
	for g.Stats().Joins < 7 { // every caller has joined the one local call
		select {
		case <-ctx.Done():
			t.Fatal("callers did not join")
		default:
			runtimeGosched()
		}
	}
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), runs.Load())
	st := g.Stats()
	assert.Equal(t, uint64(1), st.Fallbacks)
	assert.Equal(t, uint64(1), st.RedisErrors)

	_, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) { return 2, nil })
	require.NoError(t, err)
	st = g.Stats()
	assert.Equal(t, uint64(2), st.Fallbacks)
	assert.Equal(t, uint64(1), st.RedisErrors, "Redis not tried within the retry interval")

	clock.Advance(time.Second)
	_, err, _ = g.Do(ctx, "k", func(context.Context) (int, error) { return 3, nil })
	require.NoError(t, err)
	assert.Equal(t, uint64(2), g.Stats().RedisErrors, "tried again after it")
}

// FL6: fail-closed groups return ErrUnavailable instead.
func TestRedisUnreachableFailClosed(t *testing.T) {
	ctx := within(t, 10*time.Second)
	g := groupOn[int](t, newClient(t, closedAddr(t)), fleet.WithFailClosed(), fleet.WithClock(fleet.NewManualClock()))
	for range 2 { // the first tries Redis, the second does not
		_, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) {
			t.Error("fn ran")
			return 0, nil
		})
		require.ErrorIs(t, err, fleet.ErrUnavailable)
		var op *net.OpError
		require.ErrorAs(t, err, &op, "the Redis error itself is wrapped")
	}
	assert.Zero(t, g.Stats().Fallbacks)
	assert.Equal(t, uint64(1), g.Stats().RedisErrors)
}

// FL6: every Redis operation is time-bounded: through a link that delays
// or drops everything, a call costs at most about one op timeout more
// than fn, and none at all while Redis is skipped.
func TestSlowOrDroppingLink(t *testing.T) {
	const opTimeout = 50 * time.Millisecond
	for name, mode := range map[string]int32{"delay": delayed, "drop": dropped} {
		t.Run(name, func(t *testing.T) {
			ctx := within(t, 10*time.Second)
			p := newProxy(t, redisAddr)
			g := groupOn[int](t, newClient(t, p.addr()), fleet.WithOpTimeout(opTimeout), fleet.WithClock(fleet.NewManualClock()))
			_, err, _ := g.Do(ctx, "warm", func(context.Context) (int, error) { return 0, nil })
			require.NoError(t, err) // a pooled connection through the proxy
			p.set(mode, 500*time.Millisecond)

			for i := range 2 {
				start := time.Now()
				v, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) { return 1, nil })
				took := time.Since(start)
				require.NoError(t, err)
				assert.Equal(t, 1, v)
				if i == 0 {
					assert.Less(t, took, opTimeout+time.Second, "bounded by the op timeout")
				} else {
					assert.Less(t, took, opTimeout, "Redis skipped")
				}
			}
			st := g.Stats()
			assert.Equal(t, uint64(2), st.Fallbacks)
			assert.Equal(t, uint64(1), st.RedisErrors)
		})
	}
}

// FL6: the subscription is bounded by the op timeout too: when the link
// drops between the first look and the SUBSCRIBE, the follower runs fn
// itself after one op timeout, not the client's read timeout (3s).
func TestSubscribeBounded(t *testing.T) {
	const opTimeout = 50 * time.Millisecond
	ctx := within(t, 10*time.Second)
	p := newProxy(t, redisAddr)
	leader := newGroup[string](t)
	follower := groupOn[string](t, newClient(t, p.addr()), fleet.WithOpTimeout(opTimeout), fleet.WithClock(fleet.NewManualClock()))
	var dropAt time.Time
	fleet.SetEventHook(follower, func(ev, _ string) {
		if ev == "held" {
			p.set(dropped, 0)
			dropAt = time.Now()
		}
	})
	_, release, leaderDone := blocked(t, ctx, leader, "k", "leader")
	v, err, _ := follower.Do(ctx, "k", returning("alone"))
	took := time.Since(dropAt)
	require.NoError(t, err)
	assert.Equal(t, "alone", v)
	assert.Less(t, took, opTimeout+time.Second)
	st := follower.Stats()
	assert.Equal(t, uint64(1), st.Fallbacks)
	assert.Equal(t, uint64(1), st.RedisErrors)
	close(release)
	assert.Equal(t, "leader", recv(t, ctx, leaderDone, "the leader"))
}

// FL6: a follower whose link drops while it waits is not stuck: at its
// next safety check the look times out and it runs fn itself, within the
// lease TTL plus an op timeout.
func TestFollowerLinkDrops(t *testing.T) {
	const ttl, opTimeout = 300 * time.Millisecond, 50 * time.Millisecond
	ctx := within(t, 10*time.Second)
	p := newProxy(t, redisAddr)
	leader := newGroup[string](t, fleet.WithLeaseTTL(ttl))
	follower := groupOn[string](t, newClient(t, p.addr()), fleet.WithLeaseTTL(ttl), fleet.WithOpTimeout(opTimeout))
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", "leader")
	got := goDo(ctx, follower, "k", returning("alone"))
	recv(t, ctx, waiting, "the follower to wait")
	start := time.Now()
	p.set(dropped, 0)
	o := recv(t, ctx, got, "the follower")
	require.NoError(t, o.err)
	assert.Equal(t, "alone", o.v)
	assert.Less(t, time.Since(start), ttl+opTimeout+time.Second)
	assert.Equal(t, uint64(1), follower.Stats().Fallbacks)
	close(release)
	assert.Equal(t, "leader", recv(t, ctx, leaderDone, "the leader"))
}

// FL6: the op timeout holds with a client that ignores context deadlines
// (the go-redis default): the group stops waiting at the deadline, and the
// operation ends in the background within the client's read timeout.
func TestOpTimeoutWithoutContextDeadlines(t *testing.T) {
	const opTimeout = 50 * time.Millisecond
	ctx := within(t, 10*time.Second)
	p := newProxy(t, redisAddr)
	// The read timeout is longer than the bound asserted below: a group
	// that waited for the client would fail.
	rdb := redis.NewClient(&redis.Options{Addr: p.addr(), ReadTimeout: 3 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	g := groupOn[int](t, rdb, fleet.WithOpTimeout(opTimeout), fleet.WithClock(fleet.NewManualClock()))
	_, err, _ := g.Do(ctx, "warm", func(context.Context) (int, error) { return 0, nil })
	require.NoError(t, err)
	p.set(dropped, 0)
	start := time.Now()
	v, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) { return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	assert.Less(t, time.Since(start), opTimeout+time.Second)
	assert.Equal(t, uint64(1), g.Stats().Fallbacks)
}
