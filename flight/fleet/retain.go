package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Retention: outcomes kept in Redis for a window (WithForget), served past
// it when a call fails (WithStaleIfError).
//
// The leader's finish stores the outcome frame in the flight's :out key, in
// the script that publishes it, when the forget policy gives it a window.
// The frame carries its expiry and window (frame.go); Redis holds it a
// little longer than the window (keepFor), and every reader judges
// freshness with its own clock against the expiry in the frame. A group
// that retains outcomes looks with a plain GET first (peek), which
// returns the frame; a group that does not finds it with its first
// acquire. Then:
//
//	the frame                         the caller
//	--------------------------------  ---------------------------------------------
//	before its expiry                 returns it (a hit); may start an early
//	                                  refresh in the background (refresh.go)
//	expired, an early refresh runs    returns the value, stale, at once
//	expired, or unreadable            looks again passing over it: leads, follows,
//	                                  or takes a newer outcome; for an expired value
//	                                  within the stale-if-error window, a failure
//	                                  returns that value, stale, instead

// peek returns the retained outcome frame of n's flight, if any (a GET).
func (c *core) peek(ctx context.Context, n flightNames) (frame string, ok bool, err error) {
	frame, err = op(c, ctx, func(ctx context.Context) (string, error) {
		return c.rdb.Get(ctx, n.out).Result()
	})
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return frame, err == nil, err
}

// stampFor returns the stamp of the frame for fn's outcome, finished now
// after running delta, and how long Redis keeps the frame, in milliseconds
// (0: not at all). keepOld means that an older value is still retained,
// and that a failure must not replace it.
func (c *core) stampFor(err error, delta time.Duration, keepOld bool) (stamp, int64) {
	st := stamp{delta: delta}
	if c.cfg.forget == nil || (err != nil && keepOld) {
		return st, 0
	}
	w := c.cfg.forget.Retain(err)
	if w <= 0 {
		return st, 0
	}
	st.expiry, st.window = c.cfg.clock.Now().Add(w), w
	return st, max(c.keepFor(w, err == nil).Milliseconds(), 1)
}

// keepFor returns how long Redis keeps an outcome retained for w: the
// window, and for a value as long again as the stale-if-error window, or at
// least a lease TTL with early refresh, so that a refresh still running at
// the expiry keeps callers served with the expired value rather than
// waiting for it.
func (c *core) keepFor(w time.Duration, value bool) time.Duration {
	if !value {
		return w
	}
	extra := c.cfg.stale
	if c.cfg.beta > 0 {
		extra = max(extra, c.cfg.ttl)
	}
	return w + extra
}

// retained handles a first look that found frame retained.
func (g *Group[V]) retained(ctx context.Context, key string, n flightNames, tok, frame string,
	fn func(context.Context) (V, error)) (result[V], error) {
	kind, r, err := g.decode(frame)
	readable := kind == kindValue || kind == kindError
	now := g.cfg.clock.Now()
	if readable && (r.st.expiry.IsZero() || now.Before(r.st.expiry)) {
		g.st.hits.Add(1)
		if g.early(now, r.st) {
			g.hook(evEarly, key)
			g.startRefresh(ctx, key, n, headerSkip(kind, r.st), fn) // refresh.go
		}
		return r, err
	}
	// Expired or unreadable: look again, passing this frame over.
	lo := leadOpts{skip: skipKey(frame)}
	switch {
	case readable:
		lo.skip = headerSkip(kind, r.st)
	case kind == kindReleased:
		g.st.badPayloads.Add(1) // a notice is no outcome to retain
	}
	stale := kind == kindValue && now.Before(r.st.expiry.Add(g.cfg.stale))
	lo.keepOld = stale
	r.stale = true
	out, oerr := g.replace(ctx, key, n, tok, fn, lo, kind == kindValue, r)
	if oerr != nil && stale && !errors.Is(oerr, ErrClosed) {
		// Stale-if-error. A caller whose own context ended has left
		// already: this answer only reaches those still waiting.
		g.st.stale.Add(1)
		return r, nil
	}
	return out, oerr
}

// replace looks for key's lease again, passing over the retained frame
// lo.skip, and leads, follows, or takes a newer outcome; old is the
// passed-over value (when isValue), served while an early refresh runs.
func (g *Group[V]) replace(ctx context.Context, key string, n flightNames, tok string,
	fn func(context.Context) (V, error), lo leadOpts, isValue bool, old result[V]) (result[V], error) {
	a, err := g.acquire(ctx, n, tok, lo.skip)
	switch {
	case err != nil:
		return g.onRedisError(ctx, fn, err)
	case a.lead:
		return g.lead(ctx, key, n, tok, fn, lo)
	case a.retained:
		// A newer outcome, stored since the first look.
		if kind, r, err := g.decode(a.frame); kind == kindValue || kind == kindError {
			g.st.hits.Add(1)
			return r, err
		}
		return g.miss(ctx, fn)
	case a.refreshed && isValue:
		// The refresh began before the expiry; nobody waits for it.
		g.st.stale.Add(1)
		return old, nil
	}
	g.hook(evHeld, key)
	return g.follow(ctx, key, n, tok, fn, lo)
}
