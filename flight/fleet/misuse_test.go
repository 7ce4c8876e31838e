package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
)

// Misuse fails loudly and at once, with messages that start with the
// package name.
func TestMisuse(t *testing.T) {
	g := newGroup[int](t)
	fn := func(context.Context) (int, error) { return 0, nil }
	//lint:ignore SA1012 a nil Context is the misuse under test
	assert.PanicsWithValue(t, "fleet: nil Context", func() { g.Do(nil, "k", fn) })
	assert.PanicsWithValue(t, "fleet: nil fn", func() { g.Do(t.Context(), "k", nil) })
	assert.PanicsWithValue(t, "fleet: nil redis client", func() { fleet.New[int](nil) })
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": redisAddr}})
	defer ring.Close()
	assert.PanicsWithValue(t, "fleet: redis.Ring is not supported; use a Client or a ClusterClient",
		func() { fleet.New[int](ring) })
	for name, opt := range map[string]func(){
		"empty prefix": func() { fleet.WithPrefix("") },
		"brace prefix": func() { fleet.WithPrefix("a{b") },
		"short TTL":    func() { fleet.WithLeaseTTL(time.Millisecond) },
		"op timeout":   func() { fleet.WithOpTimeout(0) },
		"retry":        func() { fleet.WithRetryAfter(-1) },
		"payload":      func() { fleet.WithMaxPayload(10) },
		"nil codec":    func() { fleet.WithCodec[int](nil) },
		"empty name":   func() { fleet.WithErrors(map[string]error{"": context.Canceled}) },
		"nil sentinel": func() { fleet.WithErrors(map[string]error{"x": nil}) },
		"call timeout": func() { fleet.WithCallTimeout(-1) },
	} {
		assert.Panics(t, opt, name)
	}
}
