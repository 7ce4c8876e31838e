package memo

import "time"

// WithRand has the cache draw XFetch's uniform numbers from f, in [0, 1).
func WithRand(f func() float64) Option { return optionFunc(func(c *config) { c.rand = f }) }

// XFetch is the XFetch rule (see xfetch).
func XFetch(left, delta time.Duration, beta, u float64) bool { return xfetch(left, delta, beta, u) }

// Early reports whether c refreshes an outcome that expires in left,
// computed in delta, drawing from its random source.
func Early[K comparable, V any](c *Cache[K, V], left, delta time.Duration) bool {
	now := time.Now()
	return c.early(now, &entry[V]{expiry: now.Add(left), delta: delta})
}

// Kept returns the number of outcomes c keeps.
func Kept[K comparable, V any](c *Cache[K, V]) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
