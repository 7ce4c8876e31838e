package flight_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight"
)

// requireMisusePanic checks that f panics at once, on the calling
// goroutine, with a message that starts with the package name.
func requireMisusePanic(t *testing.T, f func()) {
	t.Helper()
	requirePanicPrefix(t, "flight: ", f)
}

// requirePanicPrefix checks that f panics with a message that starts with
// prefix.
func requirePanicPrefix(t *testing.T, prefix string, f func()) {
	t.Helper()
	var r any
	func() {
		defer func() { r = recover() }()
		f()
	}()
	require.NotNil(t, r, "misuse must panic")
	msg := fmt.Sprint(r)
	require.True(t, strings.HasPrefix(msg, prefix), "panic message %q must start with %q", msg, prefix)
}

// TestGroupMisuse checks G8: a nil fn or a nil ctx panics in the caller,
// and leaves nothing registered under the key, whether or not a call for
// it is in flight.
func TestGroupMisuse(t *testing.T) {
	var nilCtx context.Context
	fnCtx := func(context.Context) (int, error) { return -1, nil }
	for _, tc := range []struct {
		name string
		call func(g *flight.Group[string, int], ctx context.Context)
	}{
		{"Do nil fn", func(g *flight.Group[string, int], _ context.Context) { g.Do("k", nil) }},
		{"DoChan nil fn", func(g *flight.Group[string, int], _ context.Context) { g.DoChan("k", nil) }},
		{"DoCtx nil fn", func(g *flight.Group[string, int], ctx context.Context) { g.DoCtx(ctx, "k", nil) }},
		{"DoCtx nil fn with a context that cannot end", func(g *flight.Group[string, int], _ context.Context) {
			g.DoCtx(context.Background(), "k", nil)
		}},
		{"DoCtx nil ctx", func(g *flight.Group[string, int], _ context.Context) { g.DoCtx(nilCtx, "k", fnCtx) }},
		{"DoCtx nil ctx and nil fn", func(g *flight.Group[string, int], _ context.Context) { g.DoCtx(nilCtx, "k", nil) }},
		{"DoChanCtx nil fn", func(g *flight.Group[string, int], ctx context.Context) { g.DoChanCtx(ctx, "k", nil) }},
		{"DoChanCtx nil ctx", func(g *flight.Group[string, int], _ context.Context) { g.DoChanCtx(nilCtx, "k", fnCtx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Idle key.
				var g flight.Group[string, int]
				requireMisusePanic(t, func() { tc.call(&g, t.Context()) })
				require.Equal(t, flight.Stats{}, g.Stats(), "nothing started or joined")
				v, err, shared := g.Do("k", constant(1))
				require.NoError(t, err)
				require.Equal(t, 1, v, "the next call runs its fn")
				require.False(t, shared)

				// Key in flight: the misuse does not join.
				b := newBlocker()
				leader := asyncDo(&g, "k", b.fn(2))
				b.awaitStart(t)
				requireMisusePanic(t, func() { tc.call(&g, t.Context()) })
				require.Equal(t, flight.Stats{InFlight: 1, Executions: 2}, g.Stats(), "nothing joined")
				close(b.release)
				requireValue(t, recvWithin(t, leader, "leader"), 2, false)
				require.Zero(t, g.InFlight())
			})
		})
	}
}

// TestOptionMisuse checks G8 for options: a negative duration panics with a
// message that starts with the package name.
func TestOptionMisuse(t *testing.T) {
	requireMisusePanic(t, func() { flight.WithLinger(-time.Nanosecond) })
	requireMisusePanic(t, func() { flight.WithCallTimeout(-time.Nanosecond) })
	requireMisusePanic(t, func() { flight.WithHedge(-time.Nanosecond) })
}
