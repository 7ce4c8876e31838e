package main

import (
	"context"
	"sync/atomic"
	"time"
)

// hotKey is the one key every client reads.
const hotKey = "hot"

// entry is one cached value of the hot key. Entries are immutable once
// stored, except for seen.
type entry struct {
	val    Value
	expiry time.Time
	delta  time.Duration // how long the fetch that produced it took (XFetch's delta)
	seen   atomic.Bool   // a reader has found this entry expired
}

// cache holds the hot key of one process.
type cache struct {
	ttl      time.Duration
	cur      atomic.Pointer[entry]
	expiries atomic.Int64 // entries that a reader found expired
}

// get returns the current entry and whether it is fresh at now. The first
// reader to find an entry expired counts an expiry.
func (c *cache) get(now time.Time) (*entry, bool) {
	e := c.cur.Load()
	if now.Before(e.expiry) {
		return e, true
	}
	if !e.seen.Load() && e.seen.CompareAndSwap(false, true) {
		c.expiries.Add(1)
	}
	return e, false
}

// set stores v, fetched in delta, for one TTL from now.
func (c *cache) set(v Value, delta time.Duration) {
	c.cur.Store(&entry{val: v, expiry: time.Now().Add(c.ttl), delta: delta})
}

// proc is one simulated application process: its own cache (or, for the
// schemes that coordinate through Redis, the entry all processes share
// there) and its own protection scheme, in front of the shared backend.
type proc struct {
	id     int
	cache  *cache
	lookup func() (*entry, bool) // reads the cache, taking cfg.CacheLatency
	b      *backend
	get    getter

	// dup counts backend calls started while the cache was fresh: XFetch's
	// early refreshes, or, for other schemes, duplicate calls by stragglers
	// that read the expired entry just before it was replaced.
	dup atomic.Int64
}

// newCache returns a cache that holds the backend's first value until
// firstExpiry.
func newCache(b *backend, cfg config, firstExpiry time.Time) *cache {
	c := &cache{ttl: cfg.TTL}
	c.cur.Store(&entry{
		val:    Value{Fetched: b.start},
		expiry: firstExpiry,
		delta:  cfg.Latency,
	})
	return c
}

func newProc(id int, b *backend, cfg config, c *cache) *proc {
	p := &proc{id: id, b: b, cache: c}
	p.lookup = func() (*entry, bool) { return p.cache.get(time.Now()) }
	if d := cfg.CacheLatency; d > 0 {
		// The entry is read at the cache server; the answer takes d to come
		// back, during which a refresh may replace it. Readers that act on
		// an expired answer after the refresh finished are the stragglers.
		p.lookup = func() (*entry, bool) {
			e, fresh := p.cache.get(time.Now())
			time.Sleep(d)
			return e, fresh
		}
	}
	return p
}

// fetch queries the backend and caches the result. Every scheme loads the
// hot key through it.
func (p *proc) fetch(ctx context.Context) (Value, error) {
	start := time.Now()
	if _, fresh := p.cache.get(start); fresh {
		p.dup.Add(1)
	}
	v, err := p.b.query(ctx, p.id)
	if err != nil {
		return v, err
	}
	p.cache.set(v, time.Since(start))
	return v, nil
}
