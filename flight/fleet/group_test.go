package fleet_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newGroup returns a group on its own client of the shared Redis, as a
// separate process would have, closed at the end of the test.
func newGroup[V any](t testing.TB, opts ...fleet.Option) *fleet.Group[V] {
	t.Helper()
	return groupOn[V](t, newClient(t, redisAddr), opts...)
}

func groupOn[V any](t testing.TB, rdb redis.UniversalClient, opts ...fleet.Option) *fleet.Group[V] {
	t.Helper()
	opts = append([]fleet.Option{fleet.WithPrefix(prefix(t))}, opts...)
	g := fleet.New[V](rdb, opts...)
	t.Cleanup(func() { g.Close() })
	return g
}

// events collects a group's hook events on a channel.
func events[V any](g *fleet.Group[V], which string) <-chan string {
	ch := make(chan string, 100)
	fleet.SetEventHook(g, func(ev, key string) {
		if ev == which {
			ch <- key
		}
	})
	return ch
}

func TestDoAlone(t *testing.T) {
	g := newGroup[string](t)
	v, err, shared := g.Do(t.Context(), "k", func(context.Context) (string, error) { return "v", nil })
	require.NoError(t, err)
	assert.Equal(t, "v", v)
	assert.False(t, shared)
	st := g.Stats()
	assert.Equal(t, uint64(1), st.Leads)
	assert.Zero(t, st.RedisErrors)

	// The lease is gone once the call finished: the next call leads again.
	_, _, _ = g.Do(t.Context(), "k", func(context.Context) (string, error) { return "w", nil })
	assert.Equal(t, uint64(2), g.Stats().Leads)
}

// FL1: processes sharing one Redis and prefix run fn once per key at a
// time; a Do anywhere joins the running call.
func TestOneCallAcrossProcesses(t *testing.T) {
	const procs, callers = 4, 8
	ctx := within(t, 10*time.Second)
	groups := make([]*fleet.Group[int], procs)
	waiting := make(chan string, 100)
	for i := range groups {
		groups[i] = newGroup[int](t)
		fleet.SetEventHook(groups[i], func(ev, key string) {
			if ev == "waiting" {
				waiting <- key
			}
		})
	}
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	fn := func(context.Context) (int, error) {
		if runs.Add(1) == 1 {
			close(started)
		}
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	type answer struct {
		v      int
		err    error
		shared bool
	}
	answers := make(chan answer, procs*callers)
	for _, g := range groups {
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err, shared := g.Do(ctx, "hot", fn)
				answers <- answer{v, err, shared}
			}()
		}
	}
	recv(t, ctx, started, "the leader's fn")
	for range procs - 1 {
		recv(t, ctx, waiting, "a follower process")
	}
	close(release)
	wg.Wait()
	close(answers)
	for a := range answers {
		require.NoError(t, a.err)
		assert.Equal(t, 42, a.v)
		assert.True(t, a.shared)
	}
	assert.Equal(t, int32(1), runs.Load())
	var leads, follows, joins uint64
	for _, g := range groups {
		st := g.Stats()
		leads, follows, joins = leads+st.Leads, follows+st.Follows, joins+st.Joins
	}
	assert.Equal(t, uint64(1), leads)
	assert.Equal(t, uint64(procs-1), follows)
	assert.Equal(t, uint64(procs*(callers-1)), joins)
}

// A leader costs two round trips beyond fn: acquire, then finish (store,
// release and publish in one script).
func TestLeaderRoundTrips(t *testing.T) {
	rdb, cmds := countedClient(t)
	g := groupOn[int](t, rdb)
	fn := func(context.Context) (int, error) { return 1, nil }
	_, _, _ = g.Do(t.Context(), "warm", fn) // scripts loaded (EVALSHA, NOSCRIPT, EVAL)
	cmds.take()
	for range 3 {
		_, err, _ := g.Do(t.Context(), "k", fn)
		require.NoError(t, err)
		assert.Equal(t, []string{"evalsha", "evalsha"}, cmds.take())
	}
}
