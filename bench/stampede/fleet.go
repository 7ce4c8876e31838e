package main

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
)

// The schemes that coordinate the processes through one Redis: the
// processes read one shared cache entry (which lives in that Redis)
// instead of one each, and
//
//	fleet            fleet.Group: one backend call per expiry for the whole fleet,
//	                 followers in other processes woken by pub/sub
//	redis-lock-poll  the hand-written pattern: SET NX PX lock, the holder
//	                 queries and stores the entry, the others poll it every 50 ms
//
// Each simulated process has its own Redis client, as a real one would.
// The Redis is -redis ADDR, or an embedded one (miniredis) that startRedis
// runs for the whole simulation.

// pollEvery is how often redis-lock-poll's waiting readers look at the
// entry again (kozhurkin/singleflight's redis group uses 50 ms in its
// examples).
const pollEvery = 50 * time.Millisecond

// startRedis starts the embedded Redis when a scheme of cfg needs one and
// no -redis was given, and records its address in cfg. The returned
// function stops it.
func startRedis(cfg *config) (stop func()) {
	if cfg.Redis != "" || !slices.ContainsFunc(cfg.Schemes, func(name string) bool { return schemeByName(name).needsRedis() }) {
		return func() {}
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		panic(fmt.Sprintf("stampede: embedded Redis: %v", err))
	}
	cfg.Redis = m.Addr()
	// miniredis expires keys only when told that time passed.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	})
	return func() { close(done); wg.Wait(); m.Close() }
}

// runPrefix returns the Redis prefix of p's run: shared by the processes
// of the run (they are one fleet), and used by no other run, so that a run
// never sees the leases, locks or channels of an earlier one.
func runPrefix(name string, p *proc) string {
	return fmt.Sprintf("stampede:%s:%d", name, p.b.start.UnixNano())
}

// refill loads the shared entry for a reader that found it expired. Like
// the holder of a lock on a shared entry usually does, it looks at the
// entry again first: a reader that found it expired just before another
// process refilled it then queries nothing.
func (p *proc) refill(ctx context.Context) (Value, error) {
	if e, fresh := p.lookup(); fresh {
		return e.val, nil
	}
	return p.fetch(ctx)
}

func newRedisClient(cfg config) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: cfg.Redis, ContextTimeoutEnabled: true})
}

// fleetGet reads the shared entry and, on a miss, loads it through the
// process's fleet.Group.
type fleetGet struct {
	p       *proc
	rdb     *redis.Client
	g       *fleet.Group[Value]
	waiting atomic.Int64 // calls in progress
}

func newFleetGet(p *proc, cfg config) getter {
	opts := []fleet.Option{fleet.WithPrefix(runPrefix("fleet", p))}
	if cfg.CallTimeout > 0 {
		opts = append(opts, fleet.WithCallTimeout(cfg.CallTimeout))
	}
	rdb := newRedisClient(cfg)
	return &fleetGet{p: p, rdb: rdb, g: fleet.New[Value](rdb, opts...)}
}

func (f *fleetGet) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	if e, fresh := f.p.lookup(); fresh {
		return e.val, nil
	}
	f.waiting.Add(1)
	defer f.waiting.Add(-1)
	v, err, _ := f.g.Do(ctx, hotKey, f.p.refill)
	return v, err
}

func (f *fleetGet) inFlight() int { return int(f.waiting.Load()) }

func (f *fleetGet) close() {
	f.g.Close()
	f.rdb.Close()
}

// lockPoll is the pattern most teams write by hand: a reader that misses
// takes a lock in Redis (SET NX PX with a random token); the holder queries
// the backend, stores the entry and deletes the lock; the others look at
// the entry again every pollEvery until it is fresh or the lock is free.
// The lock is not renewed.
type lockPoll struct {
	p       *proc
	rdb     *redis.Client
	lock    string
	ttl     time.Duration
	waiting atomic.Int64
}

func newLockPoll(p *proc, cfg config) getter {
	return &lockPoll{p: p, rdb: newRedisClient(cfg), lock: runPrefix("lock", p) + ":" + hotKey, ttl: 2 * time.Second}
}

func (l *lockPoll) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	var tick *time.Ticker
	for {
		if e, fresh := l.p.lookup(); fresh {
			return e.val, nil
		}
		tok := crand.Text()
		ok, err := l.rdb.SetNX(ctx, l.lock, tok, l.ttl).Result()
		if err != nil {
			return Value{}, err
		}
		if ok {
			v, err := l.p.refill(ctx)
			l.rdb.Del(context.WithoutCancel(ctx), l.lock)
			return v, err
		}
		if tick == nil {
			tick = time.NewTicker(pollEvery)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return Value{}, ctx.Err()
		}
	}
}

func (l *lockPoll) inFlight() int { return int(l.waiting.Load()) }

func (l *lockPoll) close() { l.rdb.Close() }
