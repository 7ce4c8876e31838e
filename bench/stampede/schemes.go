package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
	"golang.org/x/sync/singleflight"
)

// errNoData is what lock-reject tells a reader that missed while another
// reader holds the refresh lock.
var errNoData = errors.New("lock-reject: no data, retry")

// getter reads the hot key for one client request under one scheme. It may
// return an error that the client retries.
type getter interface {
	get(ctx context.Context, rng *rand.Rand) (Value, error)
}

// scheme builds the getter of one process; entry says where the processes
// keep the hot key.
type scheme struct {
	name  string
	build func(p *proc, cfg config) getter
	entry entryKind
}

// entryKind is where a scheme's processes keep the hot key.
type entryKind int

const (
	ownEntry      entryKind = iota // each process its own cache entry
	redisEntry                     // one cache entry for all processes, kept in Redis (fleet.go)
	retainedEntry                  // the outcome fleet retains in Redis (retained.go)
)

// needsRedis reports whether the scheme talks to Redis.
func (s scheme) needsRedis() bool { return s.entry != ownEntry }

// schemes lists every scheme in the order the table shows them. To add one,
// append it here with a getter that loads through p.fetch, and describe it
// in doc.go and docs/stampede.md.
var schemes = []scheme{
	{"none", func(p *proc, _ config) getter { return none{p} }, ownEntry},
	{"lock-reject", func(p *proc, _ config) getter { return &lockReject{p: p} }, ownEntry},
	{"xsync", func(p *proc, _ config) getter { return &xsync{p: p} }, ownEntry},
	{"xsync-nocancel", func(p *proc, _ config) getter { return &xsync{p: p, noCancel: true} }, ownEntry},
	{"flight", func(p *proc, cfg config) getter {
		return &flightGet{p: p, g: newGroup(cfg)}
	}, ownEntry},
	{"flight-grace", func(p *proc, cfg config) getter {
		return &flightGet{p: p, g: newGroup(cfg, flight.WithForget(forget.Split(cfg.Grace, 0)))}
	}, ownEntry},
	{"flight-xfetch", func(p *proc, cfg config) getter {
		return &xfetch{flightGet: flightGet{p: p, g: newGroup(cfg)}, beta: cfg.Beta}
	}, ownEntry},
	{"flight-grace-xfetch", func(p *proc, cfg config) getter {
		g := newGroup(cfg, flight.WithForget(forget.Split(cfg.Grace, 0)))
		return &xfetch{flightGet: flightGet{p: p, g: g}, beta: cfg.Beta}
	}, ownEntry},
	{"flight-hedge", func(p *proc, cfg config) getter {
		return &flightGet{p: p, g: newGroup(cfg, flight.WithHedge(cfg.Hedge))}
	}, ownEntry},
	{"stale-refresh", func(p *proc, _ config) getter {
		return &staleRefresh{flightGet{p: p, g: flight.New[string, Value]()}}
	}, ownEntry},
	{"fleet", newFleetGet, redisEntry},
	{"fleet-grace", newFleetGrace, retainedEntry},
	{"fleet-xfetch", newFleetXFetch, retainedEntry},
	{"redis-lock-poll", newLockPoll, redisEntry},
}

// newGroup builds the group of a flight scheme, with the call timeout of
// -call-timeout when it is set.
func newGroup(cfg config, opts ...flight.Option) *flight.Group[string, Value] {
	if cfg.CallTimeout > 0 {
		opts = append(opts, flight.WithCallTimeout(cfg.CallTimeout))
	}
	return flight.New[string, Value](opts...)
}

func schemeNames() []string {
	names := make([]string, len(schemes))
	for i, s := range schemes {
		names[i] = s.name
	}
	return names
}

func schemeByName(name string) scheme {
	for _, s := range schemes {
		if s.name == name {
			return s
		}
	}
	panic("stampede: unknown scheme " + name)
}

// none has no protection: every reader that misses queries the backend.
type none struct{ p *proc }

func (n none) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	if e, fresh := n.p.lookup(); fresh {
		return e.val, nil
	}
	return n.p.fetch(ctx)
}

// lockReject is the usual hand-made fix: the first reader to miss takes a
// lock and refreshes; the others are told there is no data and retry.
type lockReject struct {
	p    *proc
	held atomic.Bool
}

func (l *lockReject) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	if e, fresh := l.p.lookup(); fresh {
		return e.val, nil
	}
	if !l.held.CompareAndSwap(false, true) {
		return Value{}, errNoData
	}
	defer l.held.Store(false)
	return l.p.fetch(ctx)
}

// xsync uses golang.org/x/sync/singleflight as it is usually used with
// deadlines: DoChan, and a select on the caller's context. fn can only see
// the context of the caller that started it (x/sync has no other), so when
// that caller gives up, the query fails for every follower too.
//
// With noCancel, fn runs under context.WithoutCancel of that context, the
// usual fix: the query outlives its starter, but it also loses the
// starter's deadline, so nothing bounds a query that stalls.
type xsync struct {
	p        *proc
	g        singleflight.Group
	noCancel bool
}

func (x *xsync) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	if e, fresh := x.p.lookup(); fresh {
		return e.val, nil
	}
	fctx := ctx
	if x.noCancel {
		fctx = context.WithoutCancel(ctx)
	}
	ch := x.g.DoChan(hotKey, func() (any, error) { return x.p.fetch(fctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return Value{}, r.Err
		}
		return r.Val.(Value), nil
	case <-ctx.Done():
		return Value{}, ctx.Err()
	}
}

// flightGet uses flight.Group.DoCtx: each reader waits under its own
// deadline, and the query runs until the last of them leaves.
type flightGet struct {
	p *proc
	g *flight.Group[string, Value]
}

func (f *flightGet) get(ctx context.Context, _ *rand.Rand) (Value, error) {
	if e, fresh := f.p.lookup(); fresh {
		return e.val, nil
	}
	v, err, _ := f.g.DoCtx(ctx, hotKey, f.p.fetch)
	return v, err
}

func (f *flightGet) inFlight() int { return f.g.InFlight() }

// hits counts callers that flight served from a retained outcome.
func (f *flightGet) hits() uint64 { return f.g.Stats().Hits }

// staleRefresh serves stale data and refreshes in the background (the
// stale-while-revalidate of RFC 5861): a reader that finds the entry expired
// gets the expired value at once and starts a refresh, which runs detached
// from every reader through the group's DoChan, so there is at most one per
// process. Nobody waits for the backend once the cache holds a value; the
// price is data up to a TTL plus a refresh old.
type staleRefresh struct{ flightGet }

func (s *staleRefresh) get(context.Context, *rand.Rand) (Value, error) {
	e, fresh := s.p.lookup()
	if !fresh {
		// Nobody reads the channel: it has a buffer of one, so the
		// refresh never blocks on it, and the group joins readers that
		// arrive while it runs.
		s.g.DoChan(hotKey, s.refresh)
	}
	return e.val, nil
}

// refresh loads the key. Nobody waits for it, so no caller's deadline can
// bound it; a timeout of one TTL does (by then the value served is a whole
// TTL out of date anyway).
func (s *staleRefresh) refresh() (Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.p.cache.ttl)
	defer cancel()
	return s.p.fetch(ctx)
}

// xfetch adds probabilistic early recomputation (Vattani, Chierichetti and
// Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015)
// to flight: a reader recomputes a fresh entry when
//
//	now - delta*beta*ln(u) >= expiry,  u uniform in (0, 1]
//
// where delta is how long the last recomputation took. The closer the expiry
// and the more readers, the likelier one of them refreshes early, so under
// load the entry is replaced before it expires. Concurrent early refreshes
// share one call through the group.
type xfetch struct {
	flightGet
	beta float64
}

func (x *xfetch) get(ctx context.Context, rng *rand.Rand) (Value, error) {
	e, fresh := x.p.lookup()
	if fresh && !x.early(time.Now(), e, rng) {
		return e.val, nil
	}
	v, err, _ := x.g.DoCtx(ctx, hotKey, x.p.fetch)
	if err != nil && fresh && ctx.Err() == nil {
		return e.val, nil // the refresh failed but the entry has not expired
	}
	return v, err
}

// early reports whether a reader at now should recompute e before it expires.
func (x *xfetch) early(now time.Time, e *entry, rng *rand.Rand) bool {
	gap := -float64(e.delta) * x.beta * math.Log(1-rng.Float64())
	return !now.Add(time.Duration(gap)).Before(e.expiry)
}
