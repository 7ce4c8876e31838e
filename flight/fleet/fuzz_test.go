package fleet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeFrame feeds the frame parser garbage: it never panics, a
// frame it accepts re-encodes to the same bytes, and what it rejects is
// a bad payload, never a value.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(fleet.ValueFrame([]byte(`{"ID":1}`)))
	f.Add(fleet.ErrorFrame("not-found", "user 7 not found"))
	f.Add(fleet.ReleasedFrame())
	f.Add(fleet.MissFrame())
	f.Add(fleet.EncodeFrame('V', fleet.Stamp{Delta: time.Hour, Expiry: time.UnixMilli(1 << 40), Window: time.Minute}, "", []byte("x")))
	f.Add([]byte{})
	f.Add([]byte{1, 'E', 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, st, code, body, err := fleet.DecodeFrame(b)
		if err != nil {
			return
		}
		switch kind {
		case 'R', 'M':
			assert.Len(t, b, 2)
		case 'V', 'E':
			require.GreaterOrEqual(t, st.Delta, time.Duration(0))
			require.GreaterOrEqual(t, st.Window, time.Duration(0))
			again := fleet.EncodeFrame(kind, st, code, body)
			k2, st2, c2, b2, err := fleet.DecodeFrame(again)
			require.NoError(t, err)
			assert.Equal(t, kind, k2)
			assert.Equal(t, st.Delta, st2.Delta)
			assert.Equal(t, st.Window, st2.Window)
			assert.True(t, st.Expiry.Equal(st2.Expiry))
			assert.Equal(t, code, c2)
			assert.Equal(t, string(body), string(b2))
		default:
			t.Fatalf("accepted kind %q", kind)
		}
	})
}

// FuzzFollowerPayload publishes fuzzed payloads to a waiting follower of
// ints (JSON): each ends as the value the frame holds, a RemoteError, or a
// counted miss after which the follower runs fn itself; never a hang, and
// never a value the frame does not hold.
func FuzzFollowerPayload(f *testing.F) {
	f.Add([]byte(`42`), false)
	f.Add([]byte(`"x"`), false)
	f.Add([]byte{0xff}, true)
	f.Add(fleet.ErrorFrame("c", "m"), true)
	f.Add(fleet.ReleasedFrame(), true)
	f.Fuzz(func(t *testing.T, payload []byte, raw bool) {
		if !raw {
			payload = fleet.ValueFrame(payload)
		}
		t.Run("publish", func(t *testing.T) { publishToFollower(t, payload) })
	})
}

func publishToFollower(t *testing.T, payload []byte) {
	ctx := within(t, 10*time.Second)
	rdb := newClient(t, redisAddr)
	g := groupOn[int](t, rdb, fleet.WithClock(fleet.NewManualClock()))
	done := heldElsewhere(t, ctx, g, func(context.Context) (int, error) { return -1, nil })
	lease, _, channel := fleet.Names(prefix(t), "k")
	require.NoError(t, rdb.Del(ctx, lease).Err()) // a released notice lets it lead
	require.NoError(t, rdb.Publish(ctx, channel, payload).Err())
	o := recv(t, ctx, done, "the follower")

	kind, _, _, body, err := fleet.DecodeFrame(payload)
	var want int
	valid := err == nil && kind == 'V' && json.Unmarshal(body, &want) == nil
	switch {
	case valid:
		require.NoError(t, o.err)
		assert.Equal(t, want, o.v)
	case err == nil && kind == 'E':
		var re *fleet.RemoteError
		require.ErrorAs(t, o.err, &re)
		assert.Equal(t, string(body), re.Message)
	default:
		require.NoError(t, o.err)
		assert.Equal(t, -1, o.v, "a miss: its own value")
		assert.Equal(t, err == nil && kind == 'R', g.Stats().BadPayloads == 0)
	}
}
