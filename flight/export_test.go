package flight

// Registered reports how many keys g's map holds (running or retained), for
// tests that check that nothing is left behind.
func (g *Group[K, V]) Registered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// Lock takes g's lock and returns the function that releases it, for tests
// of what must not wait for it.
func (g *Group[K, V]) Lock() (unlock func()) {
	g.mu.Lock()
	return g.mu.Unlock
}
