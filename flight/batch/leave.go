package batch

import "slices"

// leave removes one waiter from s, whose batch is not done. A key that loses
// its last waiter before its fetch starts is dropped from the batch, and a
// batch that loses its last waiter is discarded before it runs, abandoned
// while it runs. leave returns the batch it abandoned, if any, whose context
// the caller must release (see release) once l.mu is unlocked. l.mu must be
// held.
func (l *Loader[K, V]) leave(s slot[K, V]) (gone *batch[K, V]) {
	b, e := s.b, s.entry()
	if e.waiters--; e.waiters > 0 {
		return nil
	}
	b.live--
	switch b.state {
	case running:
		if b.live == 0 {
			l.abandon(b)
			return b
		}
		return nil
	case abandoned:
		panic("batch: internal error: waiter left an abandoned batch")
	}
	l.drop(b, s.i)
	if b.live > 0 {
		return nil
	}
	switch b.state {
	case collecting:
		l.stopTimer(&b.timer)
	case queued:
		l.queue = slices.DeleteFunc(l.queue, func(q *batch[K, V]) bool { return q == b })
	default:
		return nil // starting: its goroutine finds it empty and gives the slot back
	}
	l.unopen(b)
	l.discard(b)
	return nil
}

// drop removes entry i, whose last waiter left, from b before b runs. Its
// place is reused by the next key b takes, so that keys coming and going
// while b waits for its window or a slot never grow it (issue 10, item 3).
// l.mu must be held.
func (l *Loader[K, V]) drop(b *batch[K, V], i int) {
	e := &b.ents[i]
	l.unmap(b, e)
	*e = entry[K, V]{dropped: true} // let go of the key
	b.free = append(b.free, int32(i))
}

// discard ends b, which lost every key before it ran. l.mu must be held.
func (l *Loader[K, V]) discard(b *batch[K, V]) {
	b.state = discarded
	b.parent = nil
	b.ents, b.free = nil, nil
}

// abandon marks b, a running batch nobody waits for any more, abandoned and
// releases its keys in the same locked step, so that a later load starts a
// new fetch and never receives this one's outcome. The caller cancels
// fetch's context afterwards, outside the lock (see release). l.mu must be
// held.
func (l *Loader[K, V]) abandon(b *batch[K, V]) {
	b.state = abandoned
	l.unmapAll(b)
}

// release drops the loader's reference to the context of b, which leave
// abandoned, and so cancels it with cause ErrAbandoned. Cancelling runs
// through every context derived from it, so it must run with l.mu unlocked
// (issue 10, item 8): a fetch with a large tree of contexts would stall
// every load meanwhile. A nil b is ignored.
func (l *Loader[K, V]) release(b *batch[K, V]) {
	if b == nil {
		return
	}
	if releaseHook != nil {
		releaseHook()
	}
	b.ctx.Release()
}

// releaseHook, set only by tests, runs just before release cancels a
// context, so that a test can check that l.mu is unlocked then.
var releaseHook func()

// unmap removes e's key from Loader.keys if it locates e, an entry of b.
// l.mu must be held.
func (l *Loader[K, V]) unmap(b *batch[K, V], e *entry[K, V]) {
	if e.mapped && b.mapped > 0 {
		delete(l.keys, e.key)
		e.mapped = false
		b.mapped--
	}
}

// unmapAll removes every key of b from Loader.keys. When they are all the
// map holds, as after a burst of loads, clearing the map costs far less than
// deleting them one by one, and leaves the entries' flags stale: b.mapped is
// 0 then, which unmap checks. l.mu must be held.
func (l *Loader[K, V]) unmapAll(b *batch[K, V]) {
	if b.mapped > 1 && b.mapped == len(l.keys) {
		clear(l.keys)
		b.mapped = 0
		return
	}
	for i := range b.ents {
		l.unmap(b, &b.ents[i])
	}
}
