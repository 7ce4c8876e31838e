package fleet

import (
	"context"
	"errors"

	"github.com/flightkit/flightkit/flight"
)

// A conversation is what one process does about one key: the function
// that the Group in front runs, so there is at most one per key per
// process at a time. It looks at the lease (acquire) and then leads (runs
// fn under the lease and publishes the outcome) or follows (waits for the
// outcome by push, and takes over when the leader goes away).
//
//	leader                        Redis                       follower
//	acquire ------ SET NX PX ---> lease = token A
//	                              lease held <------------ acquire (first look)
//	                              channel    <------------ SUBSCRIBE, confirmed
//	                              lease held <------------ acquire (second look)
//	renew every TTL/3 ----------> PEXPIRE if token A
//	finish ------ if token A: --> DEL lease, PUBLISH frame --> value or RemoteError
//
// fn's outcome, or the reason there is none, is settled in lead; the
// frames and what a follower makes of each are in frame.go and decode.

// run is the conversation about key, under the context that the Group in
// front gives fn.
func (g *Group[V]) run(ctx context.Context, key string, fn func(context.Context) (V, error)) (result[V], error) {
	if !g.usable() {
		return g.runLocal(ctx, fn, g.downErr())
	}
	n := namesFor(g.cfg.prefix, key)
	tok := newToken()
	if g.cfg.forget != nil {
		// A group that retains outcomes expects to find one: a GET is
		// the cheapest look, and a miss costs one round trip more.
		frame, ok, err := g.peek(ctx, n)
		switch {
		case err != nil:
			return g.onRedisError(ctx, fn, err)
		case ok:
			return g.retained(ctx, key, n, tok, frame, fn) // retain.go
		}
	}
	a, err := g.acquire(ctx, n, tok, "")
	switch {
	case err != nil:
		return g.onRedisError(ctx, fn, err)
	case a.lead:
		return g.lead(ctx, key, n, tok, fn, leadOpts{})
	case a.retained:
		return g.retained(ctx, key, n, tok, a.frame, fn) // retain.go
	}
	g.hook(evHeld, key)
	return g.follow(ctx, key, n, tok, fn, leadOpts{})
}

// leadOpts say how a conversation leads, when it does.
type leadOpts struct {
	takeover bool   // the conversation waited for another leader first
	keepOld  bool   // a failure must not replace the retained value
	skip     string // the retained frame that looks pass over (skipKey)
}

// lead runs fn under tok's lease and ends the lease: with the outcome
// (finish) or, when there is none to share, with a release notice so that
// a follower takes over at once.
func (g *Group[V]) lead(ctx context.Context, key string, n flightNames, tok string,
	fn func(context.Context) (V, error), lo leadOpts) (result[V], error) {
	g.st.leads.Add(1)
	if lo.takeover {
		g.st.takeovers.Add(1)
	}
	g.hook(evLead, key)
	rn := g.startRenewal(ctx, n, tok)

	// When ctx ends while fn runs (every local caller left, the call
	// timeout passed, or Close cancelled a refresh), the lease goes at
	// once, without waiting for fn.
	released := make(chan struct{})
	stopRelease := context.AfterFunc(ctx, func() {
		defer close(released)
		g.st.abandoned.Add(1)
		g.bg.add(1)
		defer g.bg.add(-1)
		rn.stop()
		g.release(ctx, n, tok)
	})
	// mine reports, deciding it once, whether ending the lease is up to
	// this goroutine rather than to the AfterFunc; when it is not, it
	// waits for the AfterFunc's release, so that nothing of the call is
	// left running once lead returns.
	decided, own := false, false
	mine := func() bool {
		if !decided {
			decided, own = true, stopRelease()
			if !own {
				<-released
			}
		}
		return own
	}
	settled := false
	defer func() {
		if !settled {
			// fn (or the codec) panicked or called runtime.Goexit: there
			// is nothing to publish, and the Group in front hands the
			// panic or Goexit to the callers in this process.
			rn.stop()
			if mine() {
				g.release(ctx, n, tok)
			}
		}
	}()

	start := g.cfg.clock.Now()
	v, err := fn(ctx)
	delta := g.cfg.clock.Now().Sub(start)
	rn.stop()
	if !mine() {
		settled = true // ctx ended: the lease is released already
		return result[V]{val: v}, err
	}
	if contextError(err) {
		settled = true // never published: it belongs to these callers
		if ctx.Err() != nil {
			// ctx ended and fn returned before the AfterFunc started:
			// abandoned all the same.
			g.st.abandoned.Add(1)
		}
		g.release(ctx, n, tok)
		return result[V]{val: v}, err
	}
	frame, st, keepMs := g.encode(v, err, delta, lo.keepOld)
	settled = true
	receivers, fenced, ferr := g.finish(ctx, n, tok, frame, keepMs)
	if ferr != nil {
		// The callers here have their outcome; the followers elsewhere
		// take over when the lease runs out.
		g.failed(ferr)
	}
	r := result[V]{val: v, shared: receivers > 0}
	if keepMs > 0 && !fenced && ferr == nil {
		r.st = st // retained: a local copy may keep it too
	}
	return r, err
}

// contextError reports the errors that belong to the callers of one
// process and are never shared with another.
func contextError(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, flight.ErrAbandoned))
}

// follow waits for the outcome of the flight that another process leads,
// taking over when that leader goes away. Its looks pass over lo.skip.
func (g *Group[V]) follow(ctx context.Context, key string, n flightNames, tok string,
	fn func(context.Context) (V, error), lo leadOpts) (result[V], error) {
	for {
		if g.closed.Load() {
			return result[V]{}, ErrClosed
		}
		if !g.usable() {
			return g.runLocal(ctx, fn, g.downErr())
		}
		s, err := g.notifier.subscribe(ctx, n.channel)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return result[V]{}, ErrClosed
			}
			return g.onRedisError(ctx, fn, err)
		}
		g.hook(evSubscribed, key)
		act, r, err := g.await(ctx, key, n, tok, s, &lo)
		s.close()
		switch act {
		case actDone:
			return r, err
		case actLead:
			return g.lead(ctx, key, n, tok, fn, lo)
		case actMiss:
			return g.miss(ctx, fn)
		case actRedisError:
			return g.onRedisError(ctx, fn, err)
		}
		lo.takeover = true // actAgain: the connection was lost; look again
	}
}

// action is what a follower does after waiting.
type action int

const (
	actDone       action = iota // return the result
	actLead                     // the follower holds the lease now: run fn
	actMiss                     // no usable outcome: run fn without the lease
	actRedisError               // Redis failed
	actAgain                    // the subscription was lost: subscribe again
)

// await looks at the lease while subscribed to the flight's channel, and
// waits for a frame, the safety check, or the end of ctx, until it knows
// what to do.
func (g *Group[V]) await(ctx context.Context, key string, n flightNames, tok string,
	s *sub, lo *leadOpts) (action, result[V], error) {
	wait := g.cfg.ttl // the first safety check: when the lease seen may have run out
	for {
		a, err := g.acquire(ctx, n, tok, lo.skip)
		switch {
		case err != nil:
			return actRedisError, result[V]{}, err
		case a.lead:
			// The lease was free: its last leader went away, or finished
			// since the subscription, and then its outcome is on its way
			// to s. Wait for whatever was published before this look
			// (one round trip, off the normal path) rather than run fn
			// again for nothing.
			if s.sync(ctx) {
				if r, err, ok := g.arrived(s); ok {
					g.release(ctx, n, tok)
					g.st.follows.Add(1)
					return actDone, r, err
				}
			}
			return actLead, result[V]{}, nil
		case a.retained:
			kind, r, err := g.decode(a.frame)
			if kind == kindValue || kind == kindError {
				g.st.follows.Add(1)
				return actDone, r, err
			}
			return actMiss, result[V]{}, nil
		}
		t := g.cfg.clock.AfterFunc(wait, s.poke)
		wait = g.cfg.ttl / 3
		g.hook(evWaiting, key)
		act, r, err, look := g.listen(ctx, s, &lo.takeover)
		t.Stop()
		if !look {
			return act, r, err
		}
	}
}

// listen waits on s until there is something to do, or a reason to look
// at the lease again (look).
func (g *Group[V]) listen(ctx context.Context, s *sub, takeover *bool) (act action, r result[V], err error, look bool) {
	for {
		select {
		case <-ctx.Done():
			return actDone, r, ctx.Err(), false
		case <-s.signal:
		}
		frames, lost, tick := s.take()
		for _, f := range frames {
			switch kind, r, err := g.decode(f); kind {
			case kindValue, kindError:
				g.st.follows.Add(1)
				return actDone, r, err, false
			case kindReleased:
				*takeover, look = true, true
			default:
				return actMiss, r, nil, false
			}
		}
		switch {
		case lost && g.closed.Load():
			return actDone, r, ErrClosed, false
		case lost:
			return actAgain, r, nil, false
		case tick:
			*takeover, look = true, true
		}
		if look {
			return actDone, r, nil, true
		}
	}
}

// miss runs fn without the lease because the outcome of the flight cannot
// be used here (a bad payload): every process in that case runs it once.
func (g *Group[V]) miss(ctx context.Context, fn func(context.Context) (V, error)) (result[V], error) {
	v, err := fn(ctx)
	return result[V]{val: v}, err
}
