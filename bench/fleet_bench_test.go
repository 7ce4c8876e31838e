package bench

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
)

// Fleet benchmarks, against a real redis-server on loopback started for
// each benchmark (skipped without one). They compare fleet with the
// hand-written baseline in redislock_test.go (impl=redis-lock-poll), and
// with one PING (impl=rtt), the round trip both pay for.

// freshKey returns a key no benchmark has used in this process, so that a
// lead never finds a result stored by an earlier round.
func freshKey() string { return "k" + strconv.FormatUint(keySeq.Add(1), 10) }

var keySeq atomic.Uint64

// BenchmarkFleetLeader is the cost of a call that leads: a fresh key, no
// other caller, fn returns at once. ns/op is what a call costs beyond fn;
// rtt/op counts the Redis round trips.
func BenchmarkFleetLeader(b *testing.B) {
	addr := startRedis(b)
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return value, nil }
	b.Run("impl=fleet", func(b *testing.B) {
		rdb := redisClient(b, addr)
		var cc commandCounter
		g := fleet.New[int](rdb, fleet.WithPrefix("leader"))
		defer g.Close()
		_, _, _ = g.Do(ctx, "warm", fn) // the scripts are loaded
		rdb.AddHook(&cc)
		b.ReportAllocs()
		for b.Loop() {
			if _, err, _ := g.Do(ctx, freshKey(), fn); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cc.n)/float64(b.N), "rtt/op")
	})
	b.Run("impl=redis-lock-poll", func(b *testing.B) {
		rdb := redisClient(b, addr)
		var cc commandCounter
		rdb.AddHook(&cc)
		l := newLockPoll[int](rdb, "leader")
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := l.do(ctx, freshKey(), fn); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cc.n)/float64(b.N), "rtt/op")
	})
	b.Run("impl=rtt", func(b *testing.B) {
		rdb := redisClient(b, addr)
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(1, "rtt/op")
	})
}

// BenchmarkFleetWakeup is the time from the moment the leader's fn returns
// to the moment a follower in another process (another group on its own
// client) has the value, reported as p50-µs and p99-µs. Each iteration
// uses a fresh key; the leader's fn returns 5 to 55 ms after the follower
// asked (uniformly), the same workload for every implementation, so that a
// poller's phase is random as in production. Iterations are slow: run with
// -benchtime=200x or more for a stable p99.
func BenchmarkFleetWakeup(b *testing.B) {
	addr := startRedis(b)
	b.Run("impl=fleet", func(b *testing.B) {
		leader := fleet.New[int](redisClient(b, addr), fleet.WithPrefix("wakeup"))
		defer leader.Close()
		follower := fleet.New[int](redisClient(b, addr), fleet.WithPrefix("wakeup"))
		defer follower.Close()
		wakeups(b, func(ctx context.Context, key string, fn func(context.Context) (int, error)) (int, bool, error) {
			v, err, _ := leader.Do(ctx, key, fn)
			return v, true, err
		}, func(ctx context.Context, key string) (int, bool, error) {
			before := follower.Stats().Follows
			v, err, _ := follower.Do(ctx, key, func(context.Context) (int, error) { return -1, nil })
			return v, follower.Stats().Follows > before, err
		})
	})
	b.Run("impl=pubsub", func(b *testing.B) {
		// The floor of any push design: the leader PUBLISHes the value to
		// a follower blocked in Receive on its subscription.
		pub, sub := redisClient(b, addr), redisClient(b, addr)
		ps := sub.Subscribe(context.Background(), "floor")
		defer ps.Close()
		if _, err := ps.Receive(context.Background()); err != nil {
			b.Fatal(err)
		}
		wakeups(b, func(ctx context.Context, key string, fn func(context.Context) (int, error)) (int, bool, error) {
			v, err := fn(ctx)
			if err == nil {
				err = pub.Publish(ctx, "floor", strconv.Itoa(v)).Err()
			}
			return v, true, err
		}, func(ctx context.Context, key string) (int, bool, error) {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil {
				return 0, false, err
			}
			v, err := strconv.Atoi(m.Payload)
			return v, true, err
		})
	})
	b.Run("impl=redis-lock-poll", func(b *testing.B) {
		leader := newLockPoll[int](redisClient(b, addr), "wakeup")
		follower := newLockPoll[int](redisClient(b, addr), "wakeup")
		wakeups(b, func(ctx context.Context, key string, fn func(context.Context) (int, error)) (int, bool, error) {
			return leader.do(ctx, key, fn)
		}, func(ctx context.Context, key string) (int, bool, error) {
			v, led, err := follower.do(ctx, key, func(context.Context) (int, error) { return -1, nil })
			return v, !led, err
		})
	})
}

// wakeups runs the wake-up benchmark for one implementation: lead must
// run fn under the key, follow must wait for the leader's value and report
// whether it came from the leader.
func wakeups(b *testing.B,
	lead func(ctx context.Context, key string, fn func(context.Context) (int, error)) (int, bool, error),
	follow func(ctx context.Context, key string) (int, bool, error)) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	missed := 0
	for b.Loop() {
		key := freshKey()
		delay := 5*time.Millisecond + time.Duration(rng.Int64N(int64(50*time.Millisecond)))
		started, asked := make(chan struct{}), make(chan struct{})
		var finished atomic.Int64
		leaderDone := make(chan error, 1)
		go func() {
			_, _, err := lead(ctx, key, func(context.Context) (int, error) {
				close(started)
				<-asked
				time.Sleep(delay) // the leader's work, a random phase for pollers
				finished.Store(time.Now().UnixNano())
				return value, nil
			})
			leaderDone <- err
		}()
		<-started
		close(asked)
		v, fromLeader, err := follow(ctx, key)
		got := time.Now().UnixNano()
		if err := <-leaderDone; err != nil {
			b.Fatal(err)
		}
		if err != nil || v != value || !fromLeader {
			missed++
			continue
		}
		lat = append(lat, time.Duration(got-finished.Load()))
	}
	if len(lat) == 0 {
		b.Fatal("no follower was woken by the leader")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(missed)/float64(b.N), "missed/op")
}
