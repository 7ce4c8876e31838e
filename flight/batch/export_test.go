package batch

import "fmt"

// Rest describes what l holds while it should be at rest, or returns "" when
// it holds nothing: no key, no open or queued batch, no fetch slot taken and
// no timer pending (B7).
func Rest[K comparable, V any](l *Loader[K, V]) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) == 0 && l.open == nil && len(l.parts) == 0 && len(l.queue) == 0 &&
		l.running == 0 && l.timers == 0 {
		return ""
	}
	return fmt.Sprintf("keys=%d open=%v parts=%d queue=%d running=%d timers=%d",
		len(l.keys), l.open != nil, len(l.parts), len(l.queue), l.running, l.timers)
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
	return s.entry().waiters
}
