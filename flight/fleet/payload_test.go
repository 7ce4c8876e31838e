package fleet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldElsewhere makes key's lease look held by another process, and starts
// a Do on g that waits for it. It returns the channel of the Do's outcome
// once g waits; fn is the follower's own fn.
func heldElsewhere[V any](t *testing.T, ctx context.Context, g *fleet.Group[V], fn func(context.Context) (V, error)) <-chan outcome[V] {
	t.Helper()
	lease, _, _ := fleet.Names(prefix(t), "k")
	require.NoError(t, newClient(t, redisAddr).Set(ctx, lease, "another process", time.Minute).Err())
	waiting := events(g, "waiting")
	done := goDo(ctx, g, "k", fn)
	recv(t, ctx, waiting, "the follower to wait")
	return done
}

// FL7: a frame that cannot be read is a miss, counted, never a value: the
// follower runs fn itself.
func TestBadPayloadIsMiss(t *testing.T) {
	// A value the codec would accept (8, after JSON white space), so that
	// only the size limit makes it a miss.
	big := string(fleet.ValueFrame([]byte(strings.Repeat(" ", 200) + "8")))
	cases := map[string]string{
		"garbage":         "\x00\xffnot a frame",
		"empty":           "",
		"unknown version": "\x02V\x00\x00\"x\"",
		"unknown kind":    "\x01Z",
		"truncated":       "\x01V\x80",
		"not for codec":   string(fleet.ValueFrame([]byte(`{"an":"object"}`))), // a newer version's V
		"oversized":       big,
		"miss notice":     string(fleet.MissFrame()),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := within(t, 10*time.Second)
			g := newGroup[int](t, fleet.WithMaxPayload(128), fleet.WithClock(fleet.NewManualClock()))
			done := heldElsewhere(t, ctx, g, func(context.Context) (int, error) { return 7, nil })
			_, _, channel := fleet.Names(prefix(t), "k")
			require.NoError(t, newClient(t, redisAddr).Publish(ctx, channel, payload).Err())
			o := recv(t, ctx, done, "the follower")
			require.NoError(t, o.err)
			assert.Equal(t, 7, o.v, "its own value")
			st := g.Stats()
			assert.Equal(t, uint64(1), st.BadPayloads)
			assert.Zero(t, st.Follows)
		})
	}
}

// FL7: a value the leader cannot share (too large, or its encoding fails)
// is not published: a miss notice is, and the followers run fn themselves.
func TestUnsharableValue(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		leader := newGroup[string](t, fleet.WithMaxPayload(64))
		follower := newGroup[string](t)
		large := strings.Repeat("x", 100)
		led, followed, ran := whileLeading(t, leader, follower, func(context.Context) (string, error) { return large, nil })
		assert.Equal(t, large, led.v)
		assert.True(t, ran)
		require.NoError(t, followed.err)
		assert.Equal(t, uint64(1), leader.Stats().BadPayloads)
		assert.Equal(t, uint64(1), follower.Stats().BadPayloads)
	})
	t.Run("encoding fails", func(t *testing.T) {
		leader := newGroup[func()](t)
		follower := newGroup[func()](t)
		led, _, ran := whileLeading(t, leader, follower, func(context.Context) (func(), error) { return func() {}, nil })
		assert.NotNil(t, led.v)
		require.NoError(t, led.err)
		assert.True(t, ran)
		assert.Equal(t, uint64(1), leader.Stats().BadPayloads)
	})
}

// Another process that retains outcomes in Redis: a retained outcome is
// served without calling fn, even by a group that retains nothing itself;
// an unreadable one is a miss, passed over: fn runs under the lease.
func TestRetainedOutcome(t *testing.T) {
	ctx := within(t, 10*time.Second)
	rdb := newClient(t, redisAddr)
	_, out, _ := fleet.Names(prefix(t), "k")
	g := groupOn[string](t, rdb)
	fn := func(context.Context) (string, error) { return "computed", nil }

	require.NoError(t, rdb.Set(ctx, out, fleet.ValueFrame([]byte(`"retained"`)), time.Minute).Err())
	v, err, shared := g.Do(ctx, "k", fn)
	require.NoError(t, err)
	assert.Equal(t, "retained", v)
	assert.True(t, shared)

	require.NoError(t, rdb.Set(ctx, out, fleet.ErrorFrame("", "retained failure"), time.Minute).Err())
	_, err, _ = g.Do(ctx, "k", fn)
	var re *fleet.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "retained failure", re.Message)

	require.NoError(t, rdb.Set(ctx, out, "garbage", time.Minute).Err())
	v, err, _ = g.Do(ctx, "k", fn)
	require.NoError(t, err)
	assert.Equal(t, "computed", v)
	assert.Equal(t, uint64(1), g.Stats().BadPayloads)
	assert.Equal(t, uint64(1), g.Stats().Leads)
	assert.Equal(t, uint64(2), g.Stats().Hits)
}

// An error message too long for the payload limit is cut, not dropped.
func TestLongErrorMessage(t *testing.T) {
	leader := newGroup[int](t, fleet.WithMaxPayload(64))
	follower := newGroup[int](t)
	_, followed, ran := whileLeading(t, leader, follower, func(context.Context) (int, error) {
		return 0, errors.New(strings.Repeat("e", 500))
	})
	assert.False(t, ran)
	var re *fleet.RemoteError
	require.ErrorAs(t, followed.err, &re)
	assert.NotEmpty(t, re.Message)
	assert.Less(t, len(re.Message), 64)
}
