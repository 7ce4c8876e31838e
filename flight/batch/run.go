package batch

import (
	"context"
	"errors"
	"runtime"

	"github.com/flightkit/flightkit/flight"
)

// run is the goroutine dispatch starts for b, holding a fetch slot for it.
// Keys may join b until run takes the lock and seals it; if b is still open
// for them, run first yields, so that loads already runnable get in.
func (l *Loader[K, V]) run(b *batch[K, V], open bool) {
	if open {
		runtime.Gosched()
	}
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
	// waiters and mapped fields change, under the lock, and waiters read
	// the outcome only after done closes.
	var keep []keeping
	if b.panic == nil {
		l.outcomes(b, m, err)
		if l.cfg.forget != nil {
			keep = l.retain(b)
		}
	}
	l.mu.Lock()
	wasAbandoned := b.state == abandoned
	b.state = done
	if len(keep) > 0 && !wasAbandoned {
		l.keep(b, keep)
	}
	l.unmapAll(b)
	waiters = b.live
	next = l.take(l.dequeue())
	l.mu.Unlock()
	// Waking the waiters is the slow part; doing it unlocked keeps new
	// loads from queueing for the lock behind it. A waiter that sees the
	// state first, under the lock, reads the outcome without the channel.
	close(b.done)
	for _, ch := range b.shards {
		close(ch)
	}
	// Like a request's context once its handler returns: whatever fetch
	// started with it must stop now.
	b.ctx.Cancel(nil)
	return next, waiters
}

// outcomes writes each fetched key's value or error into its entry.
func (l *Loader[K, V]) outcomes(b *batch[K, V], m map[K]V, err error) {
	var perKey KeyErrors[K]
	if err != nil {
		perKey, _ = keyErrors[K](err)
	}
	for i := range b.ents {
		e := &b.ents[i]
		switch {
		case e.dropped:
		case b.goexit:
			e.err = flight.ErrGoexit
		case perKey != nil:
			if b.alone {
				e.err = ErrNotFound // no lookup can find it (see lookup)
			} else if e.err = perKey[e.key]; e.err == nil {
				e.val, e.err = lookup(m, e.key)
			}
		case err != nil:
			e.err = err
		case b.alone:
			e.err = ErrNotFound
		default:
			e.val, e.err = lookup(m, e.key)
		}
	}
}

// lookup returns key's value in m, or ErrNotFound. It is never called for a
// key that is not equal to itself: no lookup can find one, and hashing one
// that also holds an unhashable value would panic.
func lookup[K comparable, V any](m map[K]V, key K) (V, error) {
	v, ok := m[key]
	if !ok {
		return v, ErrNotFound
	}
	return v, nil
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
