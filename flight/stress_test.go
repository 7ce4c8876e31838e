package flight_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight"
)

// TestGroupDoCtxStress runs many concurrent DoCtx callers over a few keys,
// with cancellations at random (seeded) moments, and checks G7 as a whole:
// every caller gets exactly one answer, its fn's value or its own ctx's
// error, never another caller's error nor ErrAbandoned, and no goroutine is
// left afterwards.
func TestGroupDoCtxStress(t *testing.T) {
	for _, linger := range []time.Duration{0, time.Microsecond} {
		t.Run("linger="+linger.String(), func(t *testing.T) {
			testGroupDoCtxStress(t, flight.New[int, int](flight.WithLinger(linger)))
		})
	}
}

const (
	stressPreCancelled   = iota // ctx done on entry
	stressCancelSoon            // cancelled by another goroutine while the call runs
	stressNeverCancelled        // a ctx that could end but does not
	stressBackground            // a ctx that cannot end: fn runs inline
	stressModes
)

func testGroupDoCtxStress(t *testing.T, g *flight.Group[int, int]) {
	ignore := goleak.IgnoreCurrent()

	callers := 10_000
	if testing.Short() {
		callers = 1_000
	}
	// Keys below mixedKeys get callers of every mode. The others get only
	// callers that leave, and their fn runs until it is abandoned, so those
	// keys churn through abandonments and fresh executions.
	const mixedKeys, keys = 4, 8
	rng := rand.New(rand.NewPCG(1, 2))

	var (
		wg        sync.WaitGroup
		answers   atomic.Int64
		values    atomic.Int64
		ctxErrors atomic.Int64
	)
	start := make(chan struct{})
	for range callers {
		key, mode, yields := rng.IntN(keys), rng.IntN(stressModes), rng.IntN(4)
		if key >= mixedKeys {
			mode = rng.IntN(stressCancelSoon + 1)
		}
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch mode {
			case stressPreCancelled:
				cancel()
			case stressBackground:
				ctx = context.Background()
			}
			<-start
			if mode == stressCancelSoon {
				go func() {
					for range yields {
						runtime.Gosched()
					}
					cancel()
				}()
			}
			v, err, _ := g.DoCtx(ctx, key, func(fctx context.Context) (int, error) {
				for range yields {
					runtime.Gosched()
				}
				if key >= mixedKeys {
					<-fctx.Done()
				}
				if err := fctx.Err(); err != nil {
					return 0, context.Cause(fctx) // nobody must receive this
				}
				return 100 + key, nil
			})
			answers.Add(1)
			switch {
			case err == nil:
				values.Add(1)
				assert.Equal(t, 100+key, v)
			case errors.Is(err, flight.ErrAbandoned):
				t.Errorf("caller %d received ErrAbandoned", key)
			default:
				ctxErrors.Add(1)
				assert.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, ctx.Err(), err, "a caller's error is its own ctx's")
				assert.NotEqual(t, stressBackground, mode)
				assert.NotEqual(t, stressNeverCancelled, mode)
			}
		})
	}
	close(start)
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	recvWithin(t, allDone, "every caller")
	// Every caller has answered; goleak waits (bounded) for the goroutines
	// of the fns still running, lingering or abandoned, to end.
	goleak.VerifyNone(t, ignore)

	require.Equal(t, int64(callers), answers.Load(), "exactly one answer per caller")
	require.Equal(t, int64(callers), values.Load()+ctxErrors.Load())
	s := g.Stats()
	require.Zero(t, s.InFlight)
	require.Positive(t, s.Executions)
	require.Positive(t, values.Load())
	require.GreaterOrEqual(t, s.Abandoned, uint64(keys-mixedKeys), "every cancel-only key was abandoned")
	t.Logf("%d callers: %d values, %d ctx errors; %+v", callers, values.Load(), ctxErrors.Load(), s)
}
