package batch

import "fmt"

// Rest describes what l holds while it should be at rest, or returns "" when
// it holds nothing: no key, kept outcome, open or queued batch, fetch slot
// or timer (B7).
func Rest[K comparable, V any](l *Loader[K, V]) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) == 0 && len(l.kept) == 0 && l.open == nil && len(l.parts) == 0 && len(l.queue) == 0 &&
		l.running == 0 && l.timers == 0 {
		return ""
	}
	return fmt.Sprintf("keys=%d kept=%d open=%v parts=%d queue=%d running=%d timers=%d",
		len(l.keys), len(l.kept), l.open != nil, len(l.parts), len(l.queue), l.running, l.timers)
}

// Waiters reports how many callers wait for key, or -1 when l holds no
// pending or running entry for it.
func Waiters[K comparable, V any](l *Loader[K, V], key K) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.keys[key]
	if !ok || s.b.state == done {
		return -1
	}
	return int(s.entry().waiters)
}

// Pending reports how many entries, live or dropped, the batches that have
// not started their fetch hold: the open ones and the queued ones.
func Pending[K comparable, V any](l *Loader[K, V]) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[*batch[K, V]]bool{}
	n := 0
	count := func(b *batch[K, V]) {
		if b != nil && !seen[b] {
			seen[b] = true
			n += len(b.ents)
		}
	}
	count(l.open)
	for _, b := range l.parts {
		count(b)
	}
	for _, b := range l.queue {
		count(b)
	}
	return n
}
