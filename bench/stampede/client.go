package main

import (
	"context"
	"math/rand/v2"
	"time"
)

// client is one simulated user of a process: it reads the hot key, pauses,
// and reads again until the run ends. A client is used by one goroutine.
type client struct {
	p   *proc
	cfg config
	rng *rand.Rand

	// Results, read after the client's goroutine has finished.
	latencies []time.Duration // every request, successful or not
	ok, fail  int64
	retries   int64
	maxAge    time.Duration // oldest value served
}

// newClient seeds client i's randomness from the seed and i alone, so every
// scheme faces the same sequence of pauses and coin flips.
func newClient(i int, p *proc, cfg config) *client {
	return &client{p: p, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
}

// run issues requests until end. The first pause is random, so that clients
// do not start in lockstep.
func (c *client) run(end time.Time) {
	c.pause(c.cfg.Think)
	for time.Now().Before(end) {
		c.request()
		c.pause(c.cfg.Think)
	}
}

func (c *client) pause(mean time.Duration) {
	if mean > 0 {
		time.Sleep(time.Duration(c.rng.ExpFloat64() * float64(mean)))
	}
}

// request reads the hot key under the client's deadline, retrying errors
// with exponential backoff while the deadline and the retry budget allow.
func (c *client) request() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Deadline)
	defer cancel()
	var (
		v   Value
		err error
	)
	for attempt := 0; ; attempt++ {
		v, err = c.p.get.get(ctx, c.rng)
		if err == nil || attempt == c.cfg.Retries || !c.backoff(ctx, attempt) {
			break
		}
		c.retries++
	}
	now := time.Now()
	c.latencies = append(c.latencies, now.Sub(start))
	if err != nil {
		c.fail++
		return
	}
	c.ok++
	c.maxAge = max(c.maxAge, now.Sub(v.Fetched))
}

// backoff waits before retry number attempt+1: Backoff doubled per attempt,
// with jitter between half and all of it. It reports false, at once, when
// the deadline would pass first.
func (c *client) backoff(ctx context.Context, attempt int) bool {
	d := c.cfg.Backoff << attempt
	d = time.Duration((0.5 + 0.5*c.rng.Float64()) * float64(d))
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
