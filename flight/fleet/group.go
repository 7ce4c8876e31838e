package fleet

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/redis/go-redis/v9"
)

// Group runs each key's function once at a time across every process that
// shares its Redis and its prefix, and shares the outcome with every caller
// that asks for that key meanwhile, in any of those processes.
//
// Build it with [New]; the zero value is not usable. Close it when done.
// A Group is safe for concurrent use and must not be copied.
type Group[V any] struct {
	core
	codec  Codec[V]
	local  *flight.Group[string, result[V]] // the Group in front
	copies copies[V]                        // local.go
}

// core is what does not depend on V.
type core struct {
	rdb          redis.UniversalClient
	cfg          config
	sharded      bool   // Cluster mode: SPUBLISH and SSUBSCRIBE
	publishCmd   string // PUBLISH or SPUBLISH, for the finish script
	ctxDeadlines bool   // the client honours context deadlines
	ttlMs        string // the lease TTL, for the scripts
	sentinels    map[string]error

	st       counters
	health   // fallback.go
	notifier notifier
	bg       tracker // lease releases running on their own goroutine
	rf       refreshes
	closed   atomic.Bool
	hooks    hooks // tests only (export_test.go)
}

// result is what the Group in front shares inside the process: the value,
// whether another process received it too, and, for an outcome that was
// retained, when it was stored and whether it is served past its window.
type result[V any] struct {
	val    V
	shared bool
	stale  bool
	st     stamp // zero when the outcome was not retained
}

// Result is what [Group.DoResult] returns: the outcome of the call, as
// [Group.Do] returns it, and how old it is.
type Result[V any] struct {
	Val    V
	Err    error
	Shared bool
	// Age is how long ago the outcome was stored in Redis, for an outcome
	// retained by [WithForget] (an HTTP handler may send it as its Age
	// header); zero when it was computed for this call.
	Age time.Duration
	// Stale reports a value served after its retention window ended:
	// because the call that should have replaced it failed
	// ([WithStaleIfError]; Err is then nil), or because an early refresh
	// still runs (see [WithEarlyRefresh]).
	Stale bool
}

// hooks let tests observe and perturb a group; all nil in production.
type hooks struct {
	event        func(ev, key string)       // see the ev constants
	stallRenewal func(leaseKey string) bool // true: skip this renewal
}

// Events reported to hooks.event.
const (
	evHeld       = "held"       // the first look found the lease held
	evSubscribed = "subscribed" // the subscription is confirmed; the second look is next
	evWaiting    = "waiting"    // a look found the lease held; the follower waits
	evLead       = "lead"       // this process holds the lease; fn starts
	evEarly      = "early"      // XFetch chose to refresh a retained outcome
	evRefresh    = "refresh"    // an early refresh holds the lease; fn starts
	evRefreshed  = "refreshed"  // an early refresh that ran fn has ended and let go of its key
)

func (c *core) hook(ev, key string) {
	if h := c.hooks.event; h != nil {
		h(ev, key)
	}
}

// New returns a Group on rdb configured by opts. rdb may be a
// [*redis.Client] (one server, or Sentinel) or a [*redis.ClusterClient]
// (which switches to sharded pub/sub); [*redis.Ring] is not supported,
// because its pub/sub is not routed by key. The group never closes rdb.
//
// New panics if rdb is nil or a Ring, or if a [WithCodec] codec is not
// for V.
func New[V any](rdb redis.UniversalClient, opts ...Option) *Group[V] {
	if rdb == nil {
		panic("fleet: nil redis client")
	}
	if _, ok := rdb.(*redis.Ring); ok {
		panic("fleet: redis.Ring is not supported; use a Client or a ClusterClient")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	g := &Group[V]{codec: JSON[V]{}}
	if cfg.codec != nil {
		c, ok := cfg.codec.(Codec[V])
		if !ok {
			var v V
			panic(fmt.Sprintf("fleet: WithCodec: %T is not a Codec[%T]", cfg.codec, v))
		}
		g.codec = c
	}
	g.rdb, g.cfg = rdb, cfg
	g.publishCmd = "PUBLISH"
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		g.sharded, g.publishCmd = true, "SPUBLISH"
		g.ctxDeadlines = c.Options().ContextTimeoutEnabled
	case *redis.Client:
		g.ctxDeadlines = c.Options().ContextTimeoutEnabled
	}
	g.ttlMs = strconv.FormatInt(max(cfg.ttl.Milliseconds(), 1), 10)
	g.sentinels = make(map[string]error, len(cfg.errs))
	for _, e := range cfg.errs {
		g.sentinels[e.name] = e.err
	}
	g.notifier = notifier{c: &g.core, conns: make(map[string]*psConn)}
	g.rf.init()
	g.copies = copies[V]{max: cfg.localCopies, m: make(map[string]*localCopy[V])}
	g.local = flight.New[string, result[V]](cfg.flightOpts...)
	return g
}

// Do runs fn and returns its outcome, unless a call for key is already
// running in this process or in another one sharing the group's Redis and
// prefix: then Do waits for that call and returns its outcome. shared
// reports whether more than one caller, in any process, received it. With
// [WithForget], an outcome retained in Redis within its window is returned
// without calling fn, and the call may start an early refresh in the
// background ([WithEarlyRefresh]).
//
// The caller waits only as long as ctx allows: when ctx ends first, Do
// returns ctx.Err() at once and the call goes on for the other callers.
// fn receives a context of its own, as with flight.Group.DoCtx: the values
// of the ctx of the caller in this process that started the call, and no
// single caller's cancellation. When every caller in this process has
// left, fn's context is cancelled (cause flight.ErrAbandoned) and the
// lease is released at once, so that a caller waiting in another process
// takes over.
//
// A caller in another process receives fn's value through the group's
// codec, and fn's error as a *[RemoteError]. A panic in fn, runtime.Goexit
// and context errors are never sent to other processes: the callers in
// this process receive them as with flight.Group.DoCtx (a panic
// re-panics with a *flight.PanicError), and the callers elsewhere take
// over. When Redis cannot be used, fn runs in this process, coalesced with
// the other callers in it (or Do fails, see [WithFailClosed]). After
// [Group.Close], Do returns [ErrClosed]. Do panics if ctx or fn is nil.
func (g *Group[V]) Do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, err error, shared bool) {
	r, err, shared := g.do(ctx, key, fn)
	return r.val, err, shared
}

// DoResult is [Group.Do] for callers that need to know how old the outcome
// is: the Result holds what Do returns, plus the outcome's age and whether
// it is stale (see [WithForget], [WithEarlyRefresh] and
// [WithStaleIfError]). It panics, as Do does, if ctx or fn is nil.
func (g *Group[V]) DoResult(ctx context.Context, key string, fn func(context.Context) (V, error)) Result[V] {
	r, err, shared := g.do(ctx, key, fn)
	res := Result[V]{Val: r.val, Err: err, Shared: shared, Stale: r.stale}
	if !r.st.expiry.IsZero() {
		res.Age = max(g.cfg.clock.Now().Sub(r.st.expiry.Add(-r.st.window)), 0)
	}
	return res
}

func (g *Group[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (r result[V], err error, shared bool) {
	if ctx == nil {
		panic("fleet: nil Context")
	}
	if fn == nil {
		panic("fleet: nil fn")
	}
	if g.closed.Load() {
		return r, ErrClosed, false
	}
	if now := g.cfg.clock.Now(); g.copies.max > 0 {
		if c, ok := g.copies.get(key, now); ok {
			g.st.localHits.Add(1)
			if g.early(now, c.r.st) {
				g.hook(evEarly, key)
				g.startRefresh(ctx, key, namesFor(g.cfg.prefix, key), c.skip, fn)
			}
			return c.r, c.err, true
		}
	}
	r, err, shared = g.local.DoCtx(ctx, key, func(ctx context.Context) (result[V], error) {
		return g.run(ctx, key, fn)
	})
	g.copies.put(&g.core, key, r, err)
	return r, err, shared || r.shared
}

// Close releases the group's pub/sub connections. Callers waiting for
// another process's outcome receive [ErrClosed]; calls whose fn runs in
// this process go on, still publish their outcome, and release their
// lease. Early refreshes are cancelled (cause ErrClosed) and Close waits
// for them to end. Later calls to Do return ErrClosed. Close does not close
// the Redis client. It returns nil, also when called again.
func (g *Group[V]) Close() error {
	if g.closed.Swap(true) {
		return nil
	}
	g.rf.close()
	g.notifier.close()
	g.rf.wait()
	g.bg.wait()
	g.copies.clear()
	return nil
}

// tracker counts goroutines the group started outside a call, so that
// Close can wait for them.
type tracker struct {
	mu   sync.Mutex
	n    int
	zero *sync.Cond
}

func (t *tracker) add(d int) {
	t.mu.Lock()
	t.n += d
	if t.n == 0 && t.zero != nil {
		t.zero.Broadcast()
	}
	t.mu.Unlock()
}

func (t *tracker) wait() {
	t.mu.Lock()
	if t.zero == nil {
		t.zero = sync.NewCond(&t.mu)
	}
	for t.n > 0 {
		t.zero.Wait()
	}
	t.mu.Unlock()
}
