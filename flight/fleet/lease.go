package fleet

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
)

// The lease: who runs fn for a key across the fleet.
//
// A caller takes the lease with a fresh random token (acquire: SET NX PX,
// after a look for a retained outcome). The leader renews it every TTL/3
// while fn runs (renew: compare-and-PEXPIRE), and ends it with finish,
// which, only while the token still matches, stores and publishes the
// outcome and deletes the lease in one script. That comparison is the
// fence: a leader whose lease ran out (it stalled, or lost Redis for a
// TTL) and was taken over never publishes over the new leader's outcome;
// it still answers the callers in its own process. A leader that ends
// without an outcome (panic, Goexit, context error, abandoned) runs finish
// with a release notice, so that a waiting follower takes over at once
// instead of waiting for the TTL.

// acquired is what acquire found.
type acquired struct {
	lead      bool   // the caller holds the lease now
	refreshed bool   // an early refresh holds the lease (refresh.go)
	retained  bool   // an outcome is retained: frame
	frame     string // the retained outcome frame
}

// newToken returns a random lease token (128 bits): base32, upper case.
func newToken() string { return rand.Text() }

// newRefreshToken returns the token of an early refresh's lease, which
// acquire tells apart from a leader's by its lower-case first letter.
func newRefreshToken() string { return "r" + rand.Text() }

// acquire takes key's lease for tok unless another caller holds it or an
// outcome is retained. skip is "" to take any retained outcome, or the
// start of one the caller read already and cannot use (see skipKey), which
// is passed over.
func (c *core) acquire(ctx context.Context, n flightNames, tok, skip string) (acquired, error) {
	res, err := op(c, ctx, func(ctx context.Context) (any, error) {
		return acquireScript.Run(ctx, c.rdb, []string{n.lease, n.out}, tok, c.ttlMs, skip).Result()
	})
	if err != nil {
		return acquired{}, err
	}
	switch r := res.(type) {
	case int64:
		return acquired{lead: r == 1, refreshed: r == 2}, nil
	case string:
		return acquired{retained: true, frame: r}, nil
	}
	return acquired{}, fmt.Errorf("fleet: acquire: unexpected reply %T", res)
}

// skipKey returns what acquire takes to pass over an unreadable frame: its
// first bytes.
func skipKey(frame string) string { return "s" + frame[:min(len(frame), headerLen)] }

// headerSkip returns what acquire takes to pass over the retained outcome
// of kind stamped st: its header (kind, compute time, expiry, window),
// which a newer outcome never shares, since its expiry is later.
func headerSkip(kind byte, st stamp) string {
	return "s" + string(appendHeader(make([]byte, 0, headerLen), kind, st))
}

// finish ends tok's lease with frame: published to the waiting followers
// (and retained for retain milliseconds, when positive). It returns how many
// subscribers received the frame, or fenced when tok no longer holds the
// lease, in which case nothing was written.
func (c *core) finish(ctx context.Context, n flightNames, tok string, frame []byte, retainMs int64) (receivers int64, fenced bool, err error) {
	res, err := op(c, detached(ctx), func(ctx context.Context) (int64, error) {
		return finishScript.Run(ctx, c.rdb, []string{n.lease, n.out},
			tok, n.channel, frame, c.publishCmd, retainMs).Int64()
	})
	if err != nil {
		return 0, false, err
	}
	if res < 0 {
		c.st.fenced.Add(1)
		return 0, true, nil
	}
	return res, false, nil
}

// release gives tok's lease up without an outcome and tells the waiting
// followers, so that one of them takes over at once.
func (c *core) release(ctx context.Context, n flightNames, tok string) {
	if _, _, err := c.finish(ctx, n, tok, noticeFrame(kindReleased), 0); err != nil {
		c.failed(err)
	}
}

// renewal keeps a leader's lease alive while fn runs: every TTL/3 it
// extends the lease, as long as the token still holds it.
type renewal struct {
	c   *core
	ctx context.Context // the leader's values, no cancellation
	n   flightNames
	tok string

	mu      sync.Mutex
	timer   stopper        // the next renewal; guarded by mu
	stopped bool           // guarded by mu
	running sync.WaitGroup // a renewal in progress; Add under mu while !stopped
}

// startRenewal schedules the first renewal of tok's lease.
func (c *core) startRenewal(ctx context.Context, n flightNames, tok string) *renewal {
	r := &renewal{c: c, ctx: detached(ctx), n: n, tok: tok}
	r.mu.Lock() // fire may run before AfterFunc returns
	r.timer = c.cfg.clock.AfterFunc(c.cfg.ttl/3, r.fire)
	r.mu.Unlock()
	return r
}

func (r *renewal) fire() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.running.Add(1)
	r.mu.Unlock()
	defer r.running.Done()

	held, err := r.renew()
	if err != nil {
		r.c.failed(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A lease found lost stays lost (finish will be fenced); after an
	// error, keep trying: the lease may still be ours.
	if !r.stopped && (held || err != nil) {
		r.timer = r.c.cfg.clock.AfterFunc(r.c.cfg.ttl/3, r.fire)
	}
}

// renew runs the renew script once, unless a test stalls the leader.
func (r *renewal) renew() (bool, error) {
	if h := r.c.hooks.stallRenewal; h != nil && h(r.n.lease) {
		return true, nil
	}
	res, err := op(r.c, r.ctx, func(ctx context.Context) (int64, error) {
		return renewScript.Run(ctx, r.c.rdb, []string{r.n.lease}, r.tok, r.c.ttlMs).Int64()
	})
	return res == 1, err
}

// stop cancels the next renewal and waits for one in progress, so that no
// renewal runs after the leader's finish.
func (r *renewal) stop() {
	r.mu.Lock()
	r.stopped = true
	r.timer.Stop()
	r.mu.Unlock()
	r.running.Wait()
}
