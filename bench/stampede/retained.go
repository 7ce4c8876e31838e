package main

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/flightkit/flightkit/flight/forget"
)

// The schemes whose cache entry is the outcome that fleet retains in Redis
// (fleet.WithForget): every read is a fleet.Group.Do, answered from Redis
// while the entry is fresh, so the processes share one entry and the
// library alone decides when the backend is called:
//
//	fleet-grace   the entry is kept for -ttl; when it expires, one call in the
//	              fleet refills it while the readers wait (coalesced fleet-wide)
//	fleet-xfetch  the same, plus the library's early refresh (XFetch, -beta):
//	              one refresh in the fleet, in the background; nobody waits
//
// Each process also keeps a local copy of the entry until its expiry
// (fleet.WithLocalCopies), so most reads need no round trip to Redis. A
// read still pays the simulated -cache-latency, as every other scheme's
// lookup does, on top of whatever real round trips it makes.

// retainedGet reads the hot key through a fleet group that retains it.
type retainedGet struct {
	p       *proc
	g       *fleet.Group[Value]
	stop    func()
	latency time.Duration
	warmed  uint64       // the lead that stored the first value
	waiting atomic.Int64 // reads in progress
}

func newFleetGrace(p *proc, cfg config) getter { return newRetained(p, cfg, "fleet-grace", 0) }

func newFleetXFetch(p *proc, cfg config) getter {
	return newRetained(p, cfg, "fleet-xfetch", cfg.Beta)
}

func newRetained(p *proc, cfg config, name string, beta float64) *retainedGet {
	opts := []fleet.Option{
		fleet.WithPrefix(runPrefix(name, p)),
		fleet.WithForget(forget.Split(cfg.TTL, 0)),
		fleet.WithEarlyRefresh(beta),
		fleet.WithLocalCopies(1),
	}
	if cfg.CallTimeout > 0 {
		opts = append(opts, fleet.WithCallTimeout(cfg.CallTimeout))
	}
	rdb := newRedisClient(cfg)
	g := fleet.New[Value](rdb, opts...)
	r := &retainedGet{p: p, g: g, latency: cfg.CacheLatency, stop: func() { g.Close(); rdb.Close() }}
	if p.id == 0 {
		r.warm(cfg)
		r.warmed = g.Stats().Leads
	}
	return r
}

// warm stores the backend's first value in Redis, as every scheme starts
// with a warm cache, with a compute time of -latency for XFetch, without a
// backend call.
func (r *retainedGet) warm(cfg config) {
	_, _, _ = r.g.Do(context.Background(), hotKey, func(context.Context) (Value, error) {
		time.Sleep(cfg.Latency)
		return Value{Fetched: r.p.b.start}, nil
	})
}

func (r *retainedGet) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	v, err, _ := r.g.Do(ctx, hotKey, r.query)
	if r.latency > 0 {
		time.Sleep(r.latency) // the lookup's round trip, as in proc.lookup
	}
	return v, err
}

// query loads the key from the backend: fleet retains what it returns.
func (r *retainedGet) query(ctx context.Context) (Value, error) { return r.p.b.query(ctx, r.p.id) }

func (r *retainedGet) inFlight() int { return int(r.waiting.Load()) }

// hits counts reads answered by the retained entry, from Redis or from the
// local copy.
func (r *retainedGet) hits() uint64 {
	st := r.g.Stats()
	return st.Hits + st.LocalHits
}

// expiries counts the times this process found the entry expired and
// refilled it (its leads other than early refreshes).
func (r *retainedGet) expiries() int64 {
	st := r.g.Stats()
	return int64(st.Leads - st.Refreshes - r.warmed)
}

// refreshes counts the early refreshes this process ran: backend calls
// made while the entry was fresh.
func (r *retainedGet) refreshes() int64 { return int64(r.g.Stats().Refreshes) }

func (r *retainedGet) close() { r.stop() }
