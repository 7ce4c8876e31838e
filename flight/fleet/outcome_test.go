package fleet_test

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// whileLeading starts a call on leader whose fn blocks until the follower
// waits, then returns fn's outcome (fn runs after that); it returns what a
// Do on follower received. The follower's own fn returns its zero V
// marked by ranFollower.
func whileLeading[V any](t *testing.T, leader, follower *fleet.Group[V], fn func(context.Context) (V, error)) (led, followed outcome[V], followerRan bool) {
	t.Helper()
	ctx := within(t, 10*time.Second)
	waiting := events(follower, "waiting")
	started, proceed := make(chan struct{}), make(chan struct{})
	leaderDone := make(chan outcome[V], 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				err, _ := r.(error) // a *flight.PanicError
				leaderDone <- outcome[V]{err: err}
			}
		}()
		v, err, shared := leader.Do(ctx, "k", func(ctx context.Context) (V, error) {
			close(started)
			<-proceed
			return fn(ctx)
		})
		leaderDone <- outcome[V]{v, err, shared}
	}()
	recv(t, ctx, started, "the leader's fn")
	ran := make(chan bool, 1)
	followerDone := goDo(ctx, follower, "k", func(context.Context) (V, error) {
		ran <- true
		var zero V
		return zero, nil
	})
	recv(t, ctx, waiting, "the follower to wait")
	close(proceed)
	led = recv(t, ctx, leaderDone, "the leader")
	followed = recv(t, ctx, followerDone, "the follower")
	select {
	case followerRan = <-ran:
	default:
	}
	return led, followed, followerRan
}

type user struct {
	ID   int
	Name string
	tags []string // unexported: JSON drops it
}

// FL5: values cross through the default codec, encoding/json.
func TestJSONCodec(t *testing.T) {
	leader, follower := newGroup[user](t), newGroup[user](t)
	led, followed, ran := whileLeading(t, leader, follower, func(context.Context) (user, error) {
		return user{ID: 7, Name: "Ada", tags: []string{"x"}}, nil
	})
	require.NoError(t, followed.err)
	assert.False(t, ran)
	assert.Equal(t, user{ID: 7, Name: "Ada", tags: []string{"x"}}, led.v)
	assert.Equal(t, user{ID: 7, Name: "Ada"}, followed.v)
	assert.True(t, led.shared, "the leader learns that another process received it")
	assert.True(t, followed.shared)
}

// gobCodec is a Codec on encoding/gob.
type gobCodec[V any] struct{}

func (gobCodec[V]) Encode(v V) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

func (gobCodec[V]) Decode(b []byte) (V, error) {
	var v V
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v)
	return v, err
}

// FL5: the codec is pluggable.
func TestCustomCodec(t *testing.T) {
	type point struct{ X, Y float64 }
	leader := newGroup[point](t, fleet.WithCodec(gobCodec[point]{}))
	follower := newGroup[point](t, fleet.WithCodec[point](gobCodec[point]{}))
	_, followed, _ := whileLeading(t, leader, follower, func(context.Context) (point, error) {
		return point{1.5, -2}, nil
	})
	require.NoError(t, followed.err)
	assert.Equal(t, point{1.5, -2}, followed.v)

	assert.PanicsWithValue(t, "fleet: WithCodec: fleet_test.gobCodec[int] is not a Codec[fleet_test.point]", func() {
		fleet.New[point](newClient(t, redisAddr), fleet.WithCodec(gobCodec[int]{}))
	})
}

var errNotFound = errors.New("user not found")

// FL5: fn's error reaches the followers as a *RemoteError with its
// message; errors.Is works across processes for the sentinels registered
// with WithErrors.
func TestRemoteError(t *testing.T) {
	registered := fleet.WithErrors(map[string]error{"not-found": errNotFound})
	leader := newGroup[int](t, registered)
	follower := newGroup[int](t, registered)
	led, followed, ran := whileLeading(t, leader, follower, func(context.Context) (int, error) {
		return 0, fmt.Errorf("load 7: %w", errNotFound)
	})
	assert.False(t, ran)
	require.ErrorIs(t, led.err, errNotFound)
	require.ErrorIs(t, followed.err, errNotFound)
	var re *fleet.RemoteError
	require.ErrorAs(t, followed.err, &re)
	assert.Equal(t, "load 7: user not found", re.Message)
	assert.Equal(t, "not-found", re.Code)
	assert.Equal(t, led.err.Error(), followed.err.Error())
	assert.True(t, followed.shared)

	t.Run("unregistered", func(t *testing.T) {
		// A process that does not know the name keeps the code but
		// matches no sentinel.
		leader := newGroup[int](t, registered)
		follower := newGroup[int](t)
		_, followed, _ := whileLeading(t, leader, follower, func(context.Context) (int, error) {
			return 0, errNotFound
		})
		var re *fleet.RemoteError
		require.ErrorAs(t, followed.err, &re)
		assert.Equal(t, "not-found", re.Code)
		assert.NotErrorIs(t, followed.err, errNotFound)
		assert.Nil(t, re.Unwrap())
	})
}

// FL5: panics, Goexit, context errors and ErrAbandoned are never
// published: the lease is released at once and the follower takes over
// (the lease TTL is a minute, so waiting for it would time the test out).
func TestNeverPublished(t *testing.T) {
	var pe *flight.PanicError
	cases := map[string]struct {
		fn   func(context.Context) (string, error)
		want func(t *testing.T, err error)
	}{
		"panic": {
			func(context.Context) (string, error) { panic("boom") },
			func(t *testing.T, err error) { require.ErrorAs(t, err, &pe) },
		},
		"goexit": {
			func(context.Context) (string, error) { runtime.Goexit(); return "", nil },
			func(t *testing.T, err error) { require.ErrorIs(t, err, flight.ErrGoexit) },
		},
		"canceled": {
			func(context.Context) (string, error) { return "", fmt.Errorf("query: %w", context.Canceled) },
			func(t *testing.T, err error) { require.ErrorIs(t, err, context.Canceled) },
		},
		"deadline": {
			func(context.Context) (string, error) { return "", context.DeadlineExceeded },
			func(t *testing.T, err error) { require.ErrorIs(t, err, context.DeadlineExceeded) },
		},
		"abandoned": {
			func(context.Context) (string, error) { return "", fmt.Errorf("gave up: %w", flight.ErrAbandoned) },
			func(t *testing.T, err error) { require.ErrorIs(t, err, flight.ErrAbandoned) },
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ttl := fleet.WithLeaseTTL(time.Minute)
			leader := newGroup[string](t, ttl, fleet.WithCallTimeout(time.Hour)) // fn on its own goroutine
			follower := newGroup[string](t, ttl, fleet.WithClock(fleet.NewManualClock()))
			led, followed, ran := whileLeading(t, leader, follower, c.fn)
			c.want(t, led.err)
			require.NoError(t, followed.err)
			assert.True(t, ran, "the follower took over")
			assert.Equal(t, uint64(1), follower.Stats().Takeovers)
			assert.Zero(t, follower.Stats().Follows)
		})
	}
}
