package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

// FL2: a waiter detaches on its own ctx with ctx.Err(), in the leader's
// process and in a follower's, and the call goes on for the others.
func TestWaiterDetaches(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t)
	follower := newGroup[string](t)
	waiting := events(follower, "waiting")
	_, release, leaderDone := blocked(t, ctx, leader, "k", "v")

	// One caller of the follower's process stays, one leaves.
	stay := goDo(ctx, follower, "k", returning(""))
	recv(t, ctx, waiting, "the follower to wait")
	leave, cancel := context.WithCancel(ctx)
	left := goDo(leave, follower, "k", returning(""))
	// And a caller in the leader's process leaves after its deadline.
	short, cancelShort := context.WithTimeout(ctx, time.Millisecond)
	defer cancelShort()
	_, err, _ := leader.Do(short, "k", func(context.Context) (string, error) { return "", nil })
	assert.Equal(t, context.DeadlineExceeded, err)

	cancel()
	require.ErrorIs(t, recv(t, ctx, left, "the leaving caller").err, context.Canceled)
	close(release)
	o := recv(t, ctx, stay, "the staying caller")
	require.NoError(t, o.err)
	assert.Equal(t, "v", o.v)
	assert.Equal(t, "v", recv(t, ctx, leaderDone, "the leader"))
}

// FL2: fn's context carries the starter's values; when every caller in
// the leader's process has left, it is cancelled with cause
// flight.ErrAbandoned and the lease is released at once: a follower in
// another process takes over long before the lease TTL.
func TestAbandonReleasesLease(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t, fleet.WithLeaseTTL(time.Minute))
	follower := newGroup[string](t, fleet.WithLeaseTTL(time.Minute), fleet.WithClock(fleet.NewManualClock()))
	waiting := events(follower, "waiting")

	start, cancel := context.WithCancel(context.WithValue(ctx, ctxKey{}, "starter"))
	started := make(chan struct{})
	cause := make(chan error, 1)
	leaderErr := make(chan error, 1)
	go func() {
		_, err, _ := leader.Do(start, "k", func(ctx context.Context) (string, error) {
			assert.Equal(t, "starter", ctx.Value(ctxKey{}))
			_, hasDeadline := ctx.Deadline()
			assert.False(t, hasDeadline)
			close(started)
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return "abandoned", ctx.Err()
		})
		leaderErr <- err
	}()
	recv(t, ctx, started, "the leader's fn")
	got := goDo(ctx, follower, "k", returning("taken over"))
	recv(t, ctx, waiting, "the follower to wait")

	cancel()
	require.ErrorIs(t, recv(t, ctx, leaderErr, "the leaving leader"), context.Canceled)
	require.ErrorIs(t, recv(t, ctx, cause, "fn's cancellation"), flight.ErrAbandoned)
	o := recv(t, ctx, got, "the follower's answer")
	require.NoError(t, o.err)
	assert.Equal(t, "taken over", o.v)
	assert.Equal(t, uint64(1), leader.Stats().Abandoned)
	st := follower.Stats()
	assert.Equal(t, uint64(1), st.Takeovers)
	assert.Equal(t, uint64(1), st.Leads)
	assert.Zero(t, st.Follows)
}

// FL2: a ctx already done on entry returns at once and starts nothing.
func TestDoneContext(t *testing.T) {
	rdb, cmds := countedClient(t)
	g := groupOn[int](t, rdb)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err, _ := g.Do(ctx, "k", func(context.Context) (int, error) {
		t.Error("fn ran")
		return 0, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, cmds.take())
}

// WithCallTimeout bounds fn; its context error is never published, so the
// follower takes over at once.
// (The timeout is long enough that a loaded machine still acquires the lease
// before it passes; fn waits for it on purpose.)
func TestCallTimeout(t *testing.T) {
	ctx := within(t, 10*time.Second)
	leader := newGroup[string](t, fleet.WithCallTimeout(time.Second), fleet.WithLeaseTTL(time.Minute))
	follower := newGroup[string](t, fleet.WithLeaseTTL(time.Minute), fleet.WithClock(fleet.NewManualClock()))
	waiting := events(follower, "waiting")
	leaderErr := make(chan error, 1)
	started, proceed := make(chan struct{}), make(chan struct{})
	go func() {
		_, err, _ := leader.Do(ctx, "k", func(ctx context.Context) (string, error) {
			close(started)
			<-proceed // the follower waits; the call timeout may have passed
			<-ctx.Done()
			return "", ctx.Err()
		})
		leaderErr <- err
	}()
	recv(t, ctx, started, "the leader's fn")
	got := goDo(ctx, follower, "k", returning("fresh"))
	recv(t, ctx, waiting, "the follower to wait")
	close(proceed)
	require.ErrorIs(t, recv(t, ctx, leaderErr, "the leader"), context.DeadlineExceeded)
	o := recv(t, ctx, got, "the follower")
	require.NoError(t, o.err)
	assert.Equal(t, "fresh", o.v)
}
