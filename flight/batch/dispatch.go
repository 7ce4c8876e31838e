package batch

import (
	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

// A fetch slot is what WithMaxConcurrency limits: Loader.running counts the
// slots taken, by batches starting or running. A slot passes from a batch
// whose fetch returned to the first queued batch, on the same goroutine.

// dispatch hands a batch whose collection ended to a fetch slot, or, with
// every slot taken, queues it, and it keeps collecting. l.mu must be held.
//
// The goroutine is started under the lock, which it needs before it can seal
// the batch: a LoadMany adding many keys is still running when it starts, so
// the scheduler tends to run it on the caller's processor once the caller
// blocks, rather than wake another one for it (measured by
// BenchmarkBatchLoadMany in bench/).
func (l *Loader[K, V]) dispatch(b *batch[K, V]) {
	if l.cfg.maxFetch > 0 && l.running >= l.cfg.maxFetch {
		b.state = queued
		l.queue = append(l.queue, b)
		return
	}
	l.running++
	b.state = starting
	go l.run(b, l.opened(b.part) == b)
}

// take gives the fetch slot held by the caller to b, or, when b has lost
// every key, to the first queued batch, and so on; it returns the batch that
// now runs, sealed, or nil after giving the slot back. l.mu must be held.
func (l *Loader[K, V]) take(b *batch[K, V]) *batch[K, V] {
	for ; b != nil; b = l.dequeue() {
		l.unopen(b)
		if b.live > 0 {
			l.seal(b)
			return b
		}
		l.discard(b)
	}
	l.running--
	return nil
}

// dequeue removes and returns the first queued batch, or nil. l.mu must be
// held.
func (l *Loader[K, V]) dequeue() *batch[K, V] {
	if len(l.queue) == 0 {
		return nil
	}
	b := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	if len(l.queue) == 0 {
		l.queue = nil
	}
	return b
}

// maxHintBytes bounds the memory a batch reserves at once for its entries
// from the size of the batch before it (see Loader.hint).
const maxHintBytes = 64 << 10

// seal fixes the keys of b, which is about to run, and builds its context.
// l.mu must be held.
func (l *Loader[K, V]) seal(b *batch[K, V]) {
	b.state = running
	switch {
	case len(b.ents) == 1:
		b.oneKey[0] = b.ents[0].key
		b.keys = b.oneKey[:]
	case len(b.free) == 0:
		b.keys = make([]K, len(b.ents))
		for i := range b.ents {
			b.keys[i] = b.ents[i].key
		}
	default:
		// Dropped entries are at most as many as live ones ever were:
		// each new key reuses one first.
		b.keys = make([]K, 0, b.live)
		for i := range b.ents {
			if !b.ents[i].dropped {
				b.keys = append(b.keys, b.ents[i].key)
			}
		}
	}
	b.free = nil
	if !b.alone {
		l.hint = min(len(b.keys), l.maxHint)
	}
	flightctx.Init(&b.ctx, b.parent, l.cfg.ctxOpts...)
	b.parent = nil
}
