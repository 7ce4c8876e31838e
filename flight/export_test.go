package flight

// Registered reports how many keys g's map holds (running or retained), for
// tests that check that nothing is left behind.
func (g *Group[K, V]) Registered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}
