package fleet

import (
	"sync"
	"time"
)

// Local copies (WithLocalCopies): retained outcomes that this process also
// keeps in memory until their expiry, so that calls within the window need
// no round trip to Redis.
//
// A copy is taken of every outcome with a retention window that a call of
// this process receives (a GET, a push, its own lead) or that a refresh of
// this process stores or finds, while there is room; it is dropped at its
// expiry by a timer (no goroutine at rest), or replaced by a newer one. A
// call answered from a copy draws early refreshes as a call answered from
// Redis does, so XFetch sees every call. Past the expiry the copy is gone,
// and calls go to Redis as without copies: the stale-while-refreshing and
// stale-if-error paths are unchanged. Another process's refresh reaches
// this process when its copy expires, or sooner when a refresh drawn here
// finds it.

// copies are the local copies of a group.
type copies[V any] struct {
	max int // 0: none

	mu sync.Mutex
	m  map[string]*localCopy[V] // guarded by mu
}

// localCopy is one key's copy.
type localCopy[V any] struct {
	r     result[V]
	err   error
	skip  string  // what a refresh passes over: this outcome (headerSkip)
	timer stopper // drops the copy at its expiry
}

// get returns key's copy when it is fresh at now.
func (cs *copies[V]) get(key string, now time.Time) (*localCopy[V], bool) {
	if cs.max == 0 {
		return nil, false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[key]
	if !ok || !now.Before(c.r.st.expiry) {
		return nil, false
	}
	return c, true
}

// put keeps r (with err, the outcome's error) as key's copy until its
// expiry, unless it is not retained, already expired, older than the copy
// held, or there is no room.
func (cs *copies[V]) put(c *core, key string, r result[V], err error) {
	if cs.max == 0 || r.stale || r.st.expiry.IsZero() || c.closed.Load() {
		return
	}
	now := c.cfg.clock.Now()
	left := r.st.expiry.Sub(now)
	if left <= 0 {
		return
	}
	kind := byte(kindValue)
	if err != nil {
		kind = kindError
	}
	r.shared = true // whoever receives a copy shares it
	cs.mu.Lock()
	defer cs.mu.Unlock()
	old, ok := cs.m[key]
	switch {
	case ok && !r.st.expiry.After(old.r.st.expiry):
		return
	case ok:
		old.timer.Stop()
	case len(cs.m) >= cs.max:
		return
	}
	lc := &localCopy[V]{r: r, err: err, skip: headerSkip(kind, r.st)}
	lc.timer = c.cfg.clock.AfterFunc(left, func() {
		cs.mu.Lock()
		if cs.m[key] == lc {
			delete(cs.m, key)
		}
		cs.mu.Unlock()
	})
	cs.m[key] = lc
}

// clear drops every copy (Close).
func (cs *copies[V]) clear() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, c := range cs.m {
		c.timer.Stop()
		delete(cs.m, k)
	}
}
