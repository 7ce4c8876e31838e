package batch

import "time"

// kept is an outcome that the forget policy retains after its fetch, in
// Loader.kept. It holds a copy of the one key's value or error, and nothing
// of its batch, so that what stays reachable is what is retained (issue 10,
// item 5).
type kept[K comparable, V any] struct {
	val V
	err error
	g   *keepGroup[K] // its window, and the timer that ends it
}

// keepGroup is the keys one fetch retained for one window, evicted together
// by one timer when the window ends. Guarded by Loader.mu.
type keepGroup[K comparable] struct {
	d     time.Duration
	until time.Time // the end of the window
	keys  []K
	left  int // keys of the group still in Loader.kept
	timer *time.Timer
}

// keeping is entry i of a fetched batch, whose outcome the forget policy
// retains for d, before it is stored.
type keeping struct {
	i int
	d time.Duration
}

// retain asks the forget policy how long to keep each fetched key's
// outcome. It runs outside the lock: the policy is the caller's code. Keys
// whose outcome is a context error are never kept.
func (l *Loader[K, V]) retain(b *batch[K, V]) []keeping {
	if b.alone || b.goexit {
		return nil // never in Loader.keys; never kept
	}
	var ks []keeping
	for i := range b.ents {
		e := &b.ents[i]
		if e.dropped || isContextErr(e.err) {
			continue
		}
		if d := l.cfg.forget.Retain(e.err); d > 0 {
			ks = append(ks, keeping{i, d})
		}
	}
	return ks
}

// keep stores the outcomes of b that the forget policy retains, for keys
// that still have waiters and still locate b's entry (not forgotten during
// the fetch). b has just finished and was not abandoned. l.mu must be held.
func (l *Loader[K, V]) keep(b *batch[K, V], ks []keeping) {
	now := time.Now()
	var groups []*keepGroup[K] // one per window; policies use one or two
	for _, k := range ks {
		e := &b.ents[k.i]
		if !e.mapped || b.mapped == 0 || e.waiters == 0 {
			continue
		}
		var g *keepGroup[K]
		for _, h := range groups {
			if h.d == k.d {
				g = h
			}
		}
		if g == nil {
			g = &keepGroup[K]{d: k.d, until: now.Add(k.d)}
			groups = append(groups, g)
		}
		g.keys = append(g.keys, e.key)
		g.left++
		if l.kept == nil {
			l.kept = make(map[K]kept[K, V])
		}
		l.kept[e.key] = kept[K, V]{val: e.val, err: e.err, g: g}
	}
	for _, g := range groups {
		g.timer = time.AfterFunc(g.d, func() { l.expire(g) })
		l.timers++
	}
}

// retained returns key's kept outcome while its window lasts, and evicts it
// once the window has passed. l.mu must be held.
func (l *Loader[K, V]) retained(key K) (kept[K, V], bool) {
	k, ok := l.kept[key]
	if ok && !time.Now().Before(k.g.until) {
		l.unkeep(key, k)
		ok = false
	}
	return k, ok
}

// unkeep evicts key's kept outcome k, stopping its group's timer when it was
// the group's last key. l.mu must be held.
func (l *Loader[K, V]) unkeep(key K, k kept[K, V]) {
	delete(l.kept, key)
	if k.g.left--; k.g.left == 0 {
		l.stopTimer(&k.g.timer)
		k.g.keys = nil
	}
}

// expire runs when g's window ends and evicts the keys of g that are still
// kept.
func (l *Loader[K, V]) expire(g *keepGroup[K]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timers--
	if g.left == 0 {
		return // every key was evicted after the timer fired
	}
	for _, key := range g.keys {
		if k, ok := l.kept[key]; ok && k.g == g {
			delete(l.kept, key)
		}
	}
	g.left, g.keys, g.timer = 0, nil, nil
}
