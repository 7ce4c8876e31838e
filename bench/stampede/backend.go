package main

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// errOverloaded is the backend's answer when every connection is busy and
// the wait queue is full, like a database's "too many connections".
var errOverloaded = errors.New("backend: overloaded")

// Value is what the backend returns for the hot key.
type Value struct {
	Fetched time.Time // when the backend produced it
}

// interval is one admitted backend query, in time since the run started.
type interval struct {
	proc       int
	start, end time.Duration
}

// backend simulates a database behind a bounded connection pool. A query
// waits for a connection (or is rejected when the queue is full), then holds
// it for a lognormal service time that grows with the number of busy
// connections. A query whose context ends returns at once, as a cancelled
// query does.
type backend struct {
	cfg   config
	start time.Time
	conns chan struct{} // a token per busy connection

	waiting atomic.Int64 // callers queued for a connection
	active  atomic.Int64 // callers holding one
	inside  atomic.Int64 // waiting + active
	calls   atomic.Int64 // queries that reached the backend, rejected ones included
	reject  atomic.Int64 // queries rejected with errOverloaded
	stalls  atomic.Int64 // queries that drew a stall

	mu    sync.Mutex
	rng   *rand.Rand // guarded by mu
	spans []interval // guarded by mu; admitted queries
}

func newBackend(cfg config, start time.Time) *backend {
	return &backend{
		cfg:   cfg,
		start: start,
		conns: make(chan struct{}, cfg.Pool),
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0xbac4e9d)),
	}
}

// query runs one query for process proc. It returns errOverloaded when
// rejected and ctx.Err() when ctx ends first.
func (b *backend) query(ctx context.Context, proc int) (Value, error) {
	if err := ctx.Err(); err != nil {
		return Value{}, err // never sent: no call
	}
	b.calls.Add(1)
	queued, ok := b.admit()
	if !ok {
		b.reject.Add(1)
		return Value{}, errOverloaded
	}
	b.inside.Add(1)
	began := time.Since(b.start)
	defer func() {
		b.inside.Add(-1)
		b.record(interval{proc: proc, start: began, end: time.Since(b.start)})
	}()
	if queued {
		if err := b.wait(ctx); err != nil {
			return Value{}, err
		}
	}
	return b.serve(ctx)
}

// admit takes a free connection, or else a place in the wait queue
// (queued). It reports !ok when the queue is full and the caller rejected.
func (b *backend) admit() (queued, ok bool) {
	select {
	case b.conns <- struct{}{}:
		return false, true
	default:
	}
	if b.waiting.Add(1) > int64(b.cfg.Queue) {
		b.waiting.Add(-1)
		return false, false
	}
	return true, true
}

// wait blocks a queued caller until a connection frees up or ctx ends.
func (b *backend) wait(ctx context.Context) error {
	defer b.waiting.Add(-1)
	select {
	case b.conns <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// serve runs the query on the connection the caller holds, and frees it.
func (b *backend) serve(ctx context.Context) (Value, error) {
	defer func() {
		b.active.Add(-1)
		<-b.conns
	}()
	t := time.NewTimer(b.serviceTime(b.active.Add(1)))
	defer t.Stop()
	select {
	case <-t.C:
		return Value{Fetched: time.Now()}, nil
	case <-ctx.Done():
		return Value{}, ctx.Err()
	}
}

// serviceTime draws the time a query holds its connection when active
// connections are busy: a lognormal around the base latency, stretched by
// up to 1+Slowdown when the pool is full, as a loaded database slows down.
// With probability StallProb the query stalls instead and takes Stall, as a
// query stuck on a lock or a lost packet does: the heavy tail that call
// timeouts and hedging are for.
func (b *backend) serviceTime(active int64) time.Duration {
	b.mu.Lock()
	z := b.rng.NormFloat64()
	stall := b.cfg.StallProb > 0 && b.rng.Float64() < b.cfg.StallProb
	b.mu.Unlock()
	if stall {
		b.stalls.Add(1)
		return b.cfg.Stall
	}
	load := float64(active-1) / float64(b.cfg.Pool)
	f := math.Exp(b.cfg.Sigma*z) * (1 + b.cfg.Slowdown*load)
	return time.Duration(f * float64(b.cfg.Latency))
}

func (b *backend) record(iv interval) {
	b.mu.Lock()
	b.spans = append(b.spans, iv)
	b.mu.Unlock()
}

// intervals returns a copy of the admitted queries so far.
func (b *backend) intervals() []interval {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]interval(nil), b.spans...)
}
