package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/flightkit/flightkit/flight/forget"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// warmArgs configure a warm worker: one hot key, retained for Window,
// whose fn takes Delta, read by Goroutines goroutines that pause Every
// between calls.
type warmArgs struct {
	Window, Delta, Every time.Duration
	Goroutines           int
}

// warmReport is what a warm worker says at its end.
type warmReport struct {
	Calls, Errors, Stale int
	MaxLatency           time.Duration
	Held                 int // calls that found the lease held: they waited
	Stats                fleet.Stats
}

// warmWorker says "ready", waits for "go <unix ms>" on stdin, and reads
// the key "hot" until that time; fn says "fn" and takes Delta.
func warmWorker(rdb *redis.Client, opts []fleet.Option) int {
	var a warmArgs
	if err := json.Unmarshal([]byte(os.Getenv(argEnv)), &a); err != nil {
		panic(err)
	}
	g := fleet.New[string](rdb, append(opts, fleet.WithForget(forget.Split(a.Window, 0)))...)
	defer g.Close()
	var held atomic.Int64
	fleet.SetEventHook(g, func(ev, _ string) {
		if ev == "held" {
			held.Add(1)
		}
	})
	say("ready")
	sc := bufio.NewScanner(os.Stdin)
	var until time.Time
	for sc.Scan() {
		if ms, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			n, _ := strconv.ParseInt(ms, 10, 64)
			until = time.UnixMilli(n)
			break
		}
	}
	pid := strconv.Itoa(os.Getpid())
	fn := func(ctx context.Context) (string, error) {
		say("fn")
		time.Sleep(a.Delta) // the backend's work
		return "from " + pid, nil
	}
	var (
		mu  sync.Mutex
		rep warmReport
		wg  sync.WaitGroup
	)
	for range a.Goroutines {
		wg.Go(func() {
			for time.Now().Before(until) {
				start := time.Now()
				r := g.DoResult(context.Background(), "hot", fn)
				lat := time.Since(start)
				mu.Lock()
				rep.Calls++
				rep.MaxLatency = max(rep.MaxLatency, lat)
				if r.Err != nil {
					rep.Errors++
				}
				if r.Stale {
					rep.Stale++
				}
				mu.Unlock()
				time.Sleep(a.Every) // the pause between a client's requests
			}
		})
	}
	wg.Wait()
	rep.Held, rep.Stats = int(held.Load()), g.Stats()
	b, _ := json.Marshal(rep)
	say("report %s", b)
	return 0
}

// FL8 across processes: four processes keep one hot key warm for N
// windows. XFetch refreshes it about once per window in the whole fleet
// (N, give or take one or two for the part of a window that early refreshes
// shave off), not once per process per window (4N); no call ever waits
// for a refresh, or for fn at all: every call is answered from Redis.
func TestProcessesKeepKeyWarm(t *testing.T) {
	const (
		procs   = 4
		windows = 6
		window  = time.Second
		delta   = 50 * time.Millisecond
	)
	ctx := within(t, 2*time.Minute)
	events := make(chan string, 10000)
	args := warmArgs{Window: window, Delta: delta, Every: 10 * time.Millisecond, Goroutines: 2}
	workers := make([]*worker, procs)
	for i := range workers {
		workers[i] = startWorker(t, "warm", redisAddr, 10*time.Second, args, events)
	}
	for range procs {
		require.Equal(t, "ready", parse(recv(t, ctx, events, "the workers")).word)
	}
	// The first outcome, from this process, before the workers go.
	g := newGroup[string](t, fleet.WithForget(forget.Split(window, 0)))
	_, err, _ := g.Do(ctx, "hot", func(context.Context) (string, error) {
		time.Sleep(delta)
		return "first", nil
	})
	require.NoError(t, err)
	until := time.Now().Add(windows * window)
	for _, w := range workers {
		_, _ = io.WriteString(w.stdin, fmt.Sprintf("go %d\n", until.UnixMilli()))
	}
	fns, reports := 0, 0
	var sum warmReport
	for reports < procs {
		e := parse(recv(t, ctx, events, "the workers' reports"))
		switch e.word {
		case "fn":
			fns++
		case "report":
			reports++
			var rep warmReport
			require.NoError(t, json.Unmarshal([]byte(e.rest), &rep))
			sum.Calls += rep.Calls
			sum.Errors += rep.Errors
			sum.Stale += rep.Stale
			sum.Held += rep.Held
			sum.MaxLatency = max(sum.MaxLatency, rep.MaxLatency)
			s := &sum.Stats
			s.Leads += rep.Stats.Leads
			s.Refreshes += rep.Stats.Refreshes
			s.Hits += rep.Stats.Hits
			s.Fallbacks += rep.Stats.Fallbacks
			s.Follows += rep.Stats.Follows
		}
	}
	t.Logf("%d calls over %d windows of %v: fn ran %d times (%d refreshes), %d stale, slowest call %v; %+v",
		sum.Calls, windows, window, fns, sum.Stats.Refreshes, sum.Stale, sum.MaxLatency, sum.Stats)
	assert.Zero(t, sum.Errors)
	assert.Equal(t, uint64(fns), sum.Stats.Refreshes, "every run of fn was a refresh")
	assert.Equal(t, sum.Stats.Leads, sum.Stats.Refreshes, "no call led")
	assert.Zero(t, sum.Held, "no call waited for a lease holder")
	assert.Zero(t, sum.Stats.Fallbacks)
	assert.GreaterOrEqual(t, fns, windows-1)
	assert.LessOrEqual(t, fns, windows+2, "about one refresh per window in the fleet, not one per process")
}

// refreshPanicWorker fills a key, says "filled", and draws a refresh whose
// fn panics; the process should crash with it.
func refreshPanicWorker(rdb *redis.Client, opts []fleet.Option) int {
	g := fleet.New[string](rdb, append(opts, fleet.WithForget(forget.Split(time.Minute, 0)),
		fleet.WithRand(func() float64 { return 1 - 1e-12 }), fleet.WithEarlyRefresh(1e9))...)
	defer g.Close()
	ctx := context.Background()
	_, _, _ = g.Do(ctx, "k", func(context.Context) (string, error) {
		time.Sleep(time.Millisecond) // a compute time for XFetch
		return "v", nil
	})
	say("filled")
	_, _, _ = g.Do(ctx, "k", func(context.Context) (string, error) { panic("refresh broke") })
	// Not Close at once: it would cancel the refresh before fn starts.
	time.Sleep(30 * time.Second)
	return 0
}
