package fleet

import (
	"context"
	"sync/atomic"
)

// What happens when Redis is down, slow or erroring.
//
// Every Redis operation runs under op, bounded by the op timeout. A failed
// operation marks Redis down for the retry interval (health.failed):
// meanwhile calls skip Redis altogether and fall back to the Group in
// front, which still coalesces inside the process (runLocal), or fail with
// ErrUnavailable when the group is fail-closed. The first call after the
// interval tries Redis again, and coordination resumes if it answers.
//
// A follower waiting for another process when Redis fails learns it from
// its pub/sub connection (which reports the failure to every waiter, see
// notify.go) or, when the link only stalls, from its next safety check;
// either way it runs fn itself. A leader whose finish fails has its
// outcome all the same and answers its own callers; the processes waiting
// for it take over once its lease runs out.

// health remembers the last failure of a Redis operation.
type health struct {
	downUntil atomic.Int64          // clock time (UnixNano) before which Redis is skipped
	lastErr   atomic.Pointer[error] // the last failure, for fail-closed callers
}

// usable reports whether a call should try Redis now.
func (c *core) usable() bool {
	d := c.downUntil.Load()
	return d == 0 || c.cfg.clock.Now().UnixNano() >= d
}

// failed records a failed Redis operation.
func (c *core) failed(err error) {
	c.st.redisErrors.Add(1)
	c.lastErr.Store(&err)
	c.downUntil.Store(c.cfg.clock.Now().Add(c.cfg.retryAfter).UnixNano())
}

// downErr is the error a fail-closed caller gets while Redis is skipped.
func (c *core) downErr() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return context.DeadlineExceeded
}

// op runs one Redis operation f under the op timeout. When the client
// honours context deadlines f is called directly; otherwise f runs on a
// goroutine of its own and op stops waiting for it at the deadline (f then
// ends within the client's own read timeout).
func op[T any](c *core, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.opTimeout)
	defer cancel()
	if c.ctxDeadlines {
		return f(ctx)
	}
	type reply struct {
		v   T
		err error
	}
	done := make(chan reply, 1)
	go func() {
		v, err := f(ctx)
		done <- reply{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// detached returns a context for the operations that must run after the
// caller's context ended (finish, release, renew): ctx's values, no
// cancellation.
func detached(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// onRedisError handles a failed operation of a conversation whose context
// is ctx: when ctx ended, every local waiter has left and the error is
// theirs, not Redis's; otherwise Redis failed and fn runs locally.
func (g *Group[V]) onRedisError(ctx context.Context, fn func(context.Context) (V, error), err error) (result[V], error) {
	if cerr := ctx.Err(); cerr != nil {
		return result[V]{}, cerr
	}
	g.failed(err)
	return g.runLocal(ctx, fn, err)
}

// runLocal runs fn without the lease, coalesced only inside the process by
// the Group in front; fail-closed groups return the Redis error instead.
func (g *Group[V]) runLocal(ctx context.Context, fn func(context.Context) (V, error), cause error) (result[V], error) {
	if g.cfg.failClosed {
		return result[V]{}, unavailable(cause)
	}
	g.st.fallbacks.Add(1)
	v, err := fn(ctx)
	return result[V]{val: v}, err
}
