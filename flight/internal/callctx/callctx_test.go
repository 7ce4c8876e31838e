package callctx

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

type key struct{}

var errCause = errors.New("test cause")

func newCtx(parent context.Context, timeout time.Duration) *Ctx {
	c := new(Ctx)
	c.Init(parent, timeout, false)
	return c
}

func requireFired(t *testing.T, c context.Context) {
	t.Helper()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done is not closed")
	}
	require.Error(t, c.Err())
}

// TestCancelCtxKey checks the probe: the key it learnt is the one a
// standard cancelCtx answers with itself.
func TestCancelCtxKey(t *testing.T) {
	require.NotNil(t, cancelCtxKey)
	std, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.Equal(t, any(std), std.Value(cancelCtxKey))
}

// TestCause checks that context.Cause reports each kind's cause, for c
// and for its children, and that Err is DeadlineExceeded only for the
// deadline.
func TestCause(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		cause error
		want  error
		err   error
	}{
		{Finished, nil, context.Canceled, context.Canceled},
		{Canceled, nil, context.Canceled, context.Canceled},
		{Deadline, nil, context.DeadlineExceeded, context.DeadlineExceeded},
		{Abandoned, nil, ErrAbandoned, context.Canceled},
		{Cause, errCause, errCause, context.Canceled},
		{Cause, nil, context.Canceled, context.Canceled},
	} {
		c := newCtx(context.Background(), 0)
		child, cancel := context.WithCancel(c)
		timed, cancelTimed := context.WithTimeout(c, time.Hour)
		require.NoError(t, context.Cause(c))
		require.True(t, c.Cancel(tc.kind, tc.cause))
		require.False(t, c.Cancel(Cause, errors.New("later")), "only the first cancellation counts")
		for _, ctx := range []context.Context{c, child, timed} {
			requireFired(t, ctx)
			require.Equal(t, tc.err, ctx.Err())
			require.ErrorIs(t, context.Cause(ctx), tc.want)
		}
		require.ErrorIs(t, c.CauseErr(), tc.want)
		// A child made after the cancellation is born cancelled.
		late, cancelLate := context.WithCancel(c)
		requireFired(t, late)
		require.ErrorIs(t, context.Cause(late), tc.want)
		cancel()
		cancelTimed()
		cancelLate()
	}
}

// TestValues checks that c has its parent's values but never its parent's
// cancellation, cause or deadline.
func TestValues(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	parent, cancelTimeout := context.WithTimeout(parent, time.Hour)
	defer cancelTimeout()
	c := newCtx(parent, 0)
	require.Equal(t, "v", c.Value(key{}))
	_, ok := c.Deadline()
	require.False(t, ok)
	cancel(errCause)
	require.NoError(t, c.Err())
	require.NoError(t, context.Cause(c), "the parent's cause does not leak")
	require.Nil(t, c.Value(cancelCtxKey), "nor its cancelCtx")
	c.Cancel(Abandoned, nil)
	require.ErrorIs(t, context.Cause(c), ErrAbandoned)
	require.Equal(t, "v", c.Value(key{}), "values outlive the cancellation")
}

// TestMarkThenFire checks the two steps: a mark changes nothing visible
// until Fire, while Kind and Live see it at once.
func TestMarkThenFire(t *testing.T) {
	c := newCtx(context.Background(), 0)
	done := c.Done()
	require.True(t, c.Mark(Abandoned, nil))
	require.Equal(t, Abandoned, c.Kind())
	require.False(t, c.Live())
	require.NoError(t, c.Err(), "Err changes only at Fire")
	require.NoError(t, context.Cause(c))
	select {
	case <-done:
		t.Fatal("Done closed before Fire")
	default:
	}
	require.False(t, c.Mark(Cause, errCause))
	c.Fire()
	requireFired(t, c)
	require.ErrorIs(t, context.Cause(c), ErrAbandoned)
	c.Fire() // harmless
	require.Equal(t, "cancelled: "+ErrAbandoned.Error(), c.String())

	unmarked := newCtx(context.Background(), 0)
	unmarked.Fire() // nothing to fire
	require.NoError(t, unmarked.Err())
	require.Equal(t, "live", unmarked.String())
}

// TestAfterFunc checks the registrations children and context.AfterFunc
// make: run once at Fire on the firing goroutine, not at all once stopped,
// and at once (on a goroutine of their own) after Fire.
func TestAfterFunc(t *testing.T) {
	c := newCtx(context.Background(), 0)
	var ran []int
	c.AfterFunc(func() { ran = append(ran, 1) })
	stop := c.AfterFunc(func() { ran = append(ran, 2) })
	require.True(t, stop())
	require.False(t, stop(), "stopped once")
	c.Cancel(Canceled, nil)
	require.Equal(t, []int{1}, ran, "ran on the firing goroutine, the stopped one never")

	late := make(chan struct{})
	stop = c.AfterFunc(func() { close(late) })
	<-late
	require.False(t, stop())

	fired := make(chan struct{})
	c2 := newCtx(context.Background(), 0)
	context.AfterFunc(c2, func() { close(fired) })
	c2.Cancel(Cause, errCause)
	<-fired
}

// TestDeadline checks the deadline: reported, cancelled at it with
// DeadlineExceeded, and winning over any cancellation that comes after it
// passed, even before its timer ran (issue 10, item 6).
func TestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		c := newCtx(context.Background(), time.Second)
		d, ok := c.Deadline()
		require.True(t, ok)
		require.Equal(t, start.Add(time.Second), d)
		<-c.Done()
		require.Equal(t, time.Second, time.Since(start))
		require.Equal(t, context.DeadlineExceeded, c.Err())

		c = newCtx(context.Background(), time.Second)
		time.Sleep(2 * time.Second)
		c.Cancel(Abandoned, nil)
		require.Equal(t, context.DeadlineExceeded, c.Err())
		require.Equal(t, context.DeadlineExceeded, context.Cause(c))

		like := new(Ctx)
		c = newCtx(context.WithValue(context.Background(), key{}, "v"), time.Minute)
		like.InitLike(c)
		d1, _ := c.Deadline()
		d2, ok := like.Deadline()
		require.True(t, ok)
		require.Equal(t, d1, d2)
		require.Equal(t, "v", like.Value(key{}))
		c.Cancel(Canceled, nil) // stops the timers
		like.Cancel(Canceled, nil)
	})
}

func TestNilParent(t *testing.T) {
	var nilCtx context.Context
	require.PanicsWithValue(t, "flightctx: nil parent Context", func() { newCtx(nilCtx, 0) })
}

// TestDeadlineWinsBeforeItsTimer checks that a deadline that has passed wins
// over a later cancellation even when its timer has not run yet (G13, C1):
// the timer is stopped here, so only the check in mark can see the deadline.
func TestDeadlineWinsBeforeItsTimer(t *testing.T) {
	for name, cancel := range map[string]func(c *Ctx){
		"Mark and Fire": func(c *Ctx) { c.Mark(Cause, errCause); c.Fire() },
		"Cancel":        func(c *Ctx) { c.Cancel(Abandoned, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCtx(context.Background(), time.Second)
				c.mu.Lock()
				c.slow.timer.Stop()
				c.mu.Unlock()
				time.Sleep(2 * time.Second)
				require.Equal(t, Live, c.Kind(), "the timer ran")
				require.False(t, c.Live())
				cancel(c)
				requireFired(t, c)
				require.Equal(t, Deadline, c.Kind())
				require.ErrorIs(t, c.Err(), context.DeadlineExceeded)
				require.ErrorIs(t, context.Cause(c), context.DeadlineExceeded)
			})
		})
	}
}
