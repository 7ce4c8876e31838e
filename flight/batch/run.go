package batch

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// run is the goroutine dispatch starts for b, holding a fetch slot for it.
// Keys may join b until run takes the lock and seals it.
func (l *Loader[K, V]) run(b *batch[K, V]) {
	runtime.Gosched()
	l.mu.Lock()
	b = l.take(b)
	l.mu.Unlock()
	l.loop(b)
}

// loop fetches b, then each queued batch its slot passes to, on the calling
// goroutine, so that a batch waiting for a slot costs no goroutine.
func (l *Loader[K, V]) loop(b *batch[K, V]) {
	for b != nil {
		b = l.fetchOne(b)
	}
}

// windowEnd runs on the timer's goroutine when b's window ends. The timer
// accounts for itself here whether or not b still collects.
func (l *Loader[K, V]) windowEnd(b *batch[K, V]) {
	l.mu.Lock()
	l.timers--
	if b.state != collecting {
		l.mu.Unlock() // full, or discarded, since the timer fired
		return
	}
	b.timer = nil
	if l.cfg.maxFetch > 0 && l.running >= l.cfg.maxFetch {
		l.dispatch(b) // queues it
		l.mu.Unlock()
		return
	}
	l.running++
	b = l.take(b)
	l.mu.Unlock()
	l.loop(b) // on the timer's goroutine: no need for another
}

// fetchOne runs fetch for the sealed batch b, publishes its outcome, and
// returns the batch that its slot passes to, if any.
func (l *Loader[K, V]) fetchOne(b *batch[K, V]) (next *batch[K, V]) {
	var (
		m            map[K]V
		err          error
		normalReturn bool
		recovered    bool
	)
	// A double defer tells a panic from runtime.Goexit: recover stops a
	// panic but not a Goexit, so only after a Goexit is the inner function
	// left with neither flag set (as in x/sync, https://golang.org/cl/134395).
	defer func() {
		if !normalReturn && !recovered {
			b.goexit = true
		}
		next = l.afterFetch(b, m, err)
	}()
	func() {
		defer func() {
			if !normalReturn {
				// Take the stack here, before recover unwinds it. A Goexit
				// also passes through, with r == nil.
				if r := recover(); r != nil {
					b.panic = newPanicError(r)
				}
			}
		}()
		m, err = l.fetch(&b.ctx, b.keys)
		normalReturn = true
	}()
	if !normalReturn {
		recovered = true
	}
	return next
}

// afterFetch publishes b's outcome and routes a panic or Goexit of fetch.
// It runs in fetchOne's deferred function, so a panic it raises propagates
// from the goroutine that ran fetch.
func (l *Loader[K, V]) afterFetch(b *batch[K, V], m map[K]V, err error) (next *batch[K, V]) {
	next, waiters := l.finish(b, m, err)
	switch {
	case b.goexit:
		// This goroutine is exiting as fetch asked; the slot and the
		// queue behind it move to a new one.
		if next != nil {
			go l.loop(next)
		}
	case b.panic != nil && waiters == 0:
		if l.cfg.onPanic == nil {
			panic(b.panic) // nobody left to tell: crash rather than swallow it
		}
		l.cfg.onPanic(b.panic)
	}
	return next
}

// finish publishes b's outcome, releases its keys (keeping those the
// forget policy retains), cancels fetch's context and passes b's slot on.
// It reports how many keys still had waiters.
func (l *Loader[K, V]) finish(b *batch[K, V], m map[K]V, err error) (next *batch[K, V], waiters int) {
	// The entries are written outside the lock: once sealed, only their
	// waiters fields change, under the lock, and waiters read the
	// outcome only after done closes.
	keep := l.outcomes(b, m, err)
	l.mu.Lock()
	wasAbandoned := b.state == abandoned
	b.state = done
	var last time.Time
	for i := range b.ents {
		e := &b.ents[i]
		if !e.mapped {
			continue
		}
		if keep && !wasAbandoned && e.waiters > 0 && !b.until[i].IsZero() {
			b.kept++
			if b.until[i].After(last) {
				last = b.until[i]
			}
			continue
		}
		l.unmap(e)
	}
	if b.kept > 0 {
		b.timer = time.AfterFunc(time.Until(last), func() { l.expire(b) })
		l.timers++
	}
	waiters = b.live
	next = l.take(l.dequeue())
	l.mu.Unlock()
	// Waking the waiters is the slow part; doing it unlocked keeps new
	// loads from queueing for the lock behind it. A waiter that sees the
	// state first, under the lock, reads the outcome without the channel.
	close(b.done)
	// Like a request's context once its handler returns: whatever fetch
	// started with it must stop now.
	b.ctx.Cancel(nil)
	return next, waiters
}

// outcomes writes each fetched key's value or error, and its retention
// window, and reports whether any key may be retained.
func (l *Loader[K, V]) outcomes(b *batch[K, V], m map[K]V, err error) (keep bool) {
	var perKey KeyErrors[K]
	whole := false // one error for every key
	if err != nil {
		var ok bool
		perKey, ok = keyErrors[K](err)
		whole = !ok
	}
	p := l.cfg.forget
	now := time.Time{}
	for i := range b.ents {
		e := &b.ents[i]
		switch {
		case e.dropped || b.panic != nil:
			continue
		case b.goexit:
			e.err = flight.ErrGoexit
			continue
		case perKey[e.key] != nil:
			e.err = perKey[e.key]
		case whole:
			e.err = err
		default:
			var ok bool
			if e.val, ok = m[e.key]; !ok {
				e.err = ErrNotFound
			}
		}
		if p == nil || isContextErr(e.err) {
			continue
		}
		if d := p.Retain(e.err); d > 0 {
			if now.IsZero() {
				now = time.Now()
				b.until = make([]time.Time, len(b.ents))
			}
			b.until[i] = now.Add(d)
			keep = true
		}
	}
	return keep
}

// keyErrors finds the KeyErrors in err. It is a function of its own so that
// the variable errors.As needs escapes only when fetch failed.
func keyErrors[K comparable](err error) (KeyErrors[K], bool) {
	var ke KeyErrors[K]
	ok := errors.As(err, &ke)
	return ke, ok
}

// isContextErr reports errors that belong to one caller's context and so
// must never be shared after the fact.
func isContextErr(err error) bool {
	return err != nil && (errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, flight.ErrAbandoned))
}

// expire ends the retention window of b's kept entries.
func (l *Loader[K, V]) expire(b *batch[K, V]) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timers--
	if b.timer == nil {
		return // every kept entry was evicted after the timer fired
	}
	b.timer = nil
	for i := range b.ents {
		l.unmap(&b.ents[i])
	}
	b.kept = 0
}

// unkeep evicts the retained entry s, stopping its batch's retention timer
// when it was the last one kept. l.mu must be held.
func (l *Loader[K, V]) unkeep(s slot[K, V]) {
	l.unmap(s.entry())
	if s.b.kept--; s.b.kept == 0 {
		l.stopTimer(s.b)
	}
}
