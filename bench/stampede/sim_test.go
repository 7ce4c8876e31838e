package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// testConfig is a short scenario whose invariants hold however the machine
// schedules it: the backend latency is constant and far below the client
// deadline, so no call is ever abandoned and no backend query is cancelled.
func testConfig(schemes ...string) config {
	c := defaultConfig()
	c.Clients = 40
	c.Duration = 600 * time.Millisecond
	c.TTL = 150 * time.Millisecond
	c.Think = 2 * time.Millisecond
	c.Deadline = 2 * time.Second
	c.Latency = 20 * time.Millisecond
	c.Sigma, c.Slowdown = 0, 0
	c.Grace = 100 * time.Millisecond // below TTL minus the latency
	c.Retries, c.Backoff = 1, time.Millisecond
	c.Schemes = schemes
	c.Rounds = 1
	return c
}

// simulateOnce runs cfg's single round and returns each scheme's result.
func simulateOnce(t *testing.T, cfg config) []Result {
	t.Helper()
	runs := simulate(cfg, nil)
	results := make([]Result, len(runs))
	for i, s := range runs {
		if len(s.Rounds) != 1 || len(s.Load) == 0 || len(s.CCDF) == 0 {
			t.Fatalf("%s: %d rounds, %d load buckets, %d CCDF points", s.Scheme, len(s.Rounds), len(s.Load), len(s.CCDF))
		}
		results[i] = s.Rounds[0]
	}
	logTable(t, cfg, runs)
	return results
}

func byScheme(results []Result) map[string]Result {
	m := make(map[string]Result, len(results))
	for _, r := range results {
		m[r.Scheme] = r
	}
	return m
}

// TestSchemes runs every scheme on the same workload and checks what each
// one promises, measured from the run.
func TestSchemes(t *testing.T) {
	cfg := testConfig(schemeNames()...)
	res := byScheme(simulateOnce(t, cfg))
	for _, r := range res {
		checkSane(t, cfg, r)
	}

	t.Run("none hits the backend harder than flight", func(t *testing.T) {
		none, fl := res["none"], res["flight"]
		if none.PeakConcurrency <= fl.PeakConcurrency {
			t.Errorf("peak backend concurrency: none %d, flight %d; want none higher", none.PeakConcurrency, fl.PeakConcurrency)
		}
		if none.BackendCalls <= fl.BackendCalls {
			t.Errorf("backend calls: none %d, flight %d; want none higher", none.BackendCalls, fl.BackendCalls)
		}
	})
	t.Run("coalescing schemes send one query at a time per process", func(t *testing.T) {
		for _, s := range []string{"lock-reject", "xsync", "xsync-nocancel", "flight", "flight-grace",
			"flight-xfetch", "flight-grace-xfetch", "stale-refresh"} {
			if p := res[s].PeakPerProc; p > 1 {
				t.Errorf("%s: %d concurrent backend queries from one process, want at most 1", s, p)
			}
		}
	})
	t.Run("flight makes one call per expiry", func(t *testing.T) {
		for _, s := range []string{"xsync", "xsync-nocancel", "flight", "flight-grace", "stale-refresh"} {
			checkOnePerExpiry(t, res[s])
		}
	})
	t.Run("flight-grace absorbs stragglers", func(t *testing.T) {
		if r := res["flight-grace"]; r.WhileFresh != 0 {
			t.Errorf("flight-grace: %d calls started while the cache was fresh, want 0", r.WhileFresh)
		}
	})
	t.Run("lock-reject fails clients under load", func(t *testing.T) {
		if r := res["lock-reject"]; r.SuccessRate >= 1 || r.Retries == 0 {
			t.Errorf("lock-reject: success rate %.4f with %d retries; want below 1 with retries", r.SuccessRate, r.Retries)
		}
	})
	t.Run("coalescing with deadlines serves every client", func(t *testing.T) {
		for _, s := range []string{"xsync", "xsync-nocancel", "flight", "flight-grace", "flight-xfetch",
			"flight-grace-xfetch", "stale-refresh"} {
			if r := res[s]; r.SuccessRate != 1 {
				t.Errorf("%s: success rate %.4f, want 1", s, r.SuccessRate)
			}
		}
	})
	t.Run("xfetch refreshes before expiry", func(t *testing.T) {
		for _, s := range []string{"flight-xfetch", "flight-grace-xfetch"} {
			if r := res[s]; r.WhileFresh == 0 || r.Expiries >= r.WhileFresh {
				t.Errorf("%s: %d early refreshes, %d expiries; want mostly early", s, r.WhileFresh, r.Expiries)
			}
		}
	})
	t.Run("stale-refresh serves expired values", func(t *testing.T) {
		r := res["stale-refresh"]
		if r.MaxAge <= ms(cfg.TTL) {
			t.Errorf("stale-refresh: oldest value served %.1fms old, want older than the %v TTL", r.MaxAge, cfg.TTL)
		}
	})
}

// TestFleet checks the fleet view: every process coalesces its own callers,
// so the shared backend sees one call per expiry per process.
func TestFleet(t *testing.T) {
	cfg := testConfig("flight")
	cfg.Procs = 4
	r := simulateOnce(t, cfg)[0]
	checkSane(t, cfg, r)
	checkOnePerExpiry(t, r)
	if r.PeakPerProc > 1 || r.PeakConcurrency > cfg.Procs {
		t.Errorf("peak concurrency %d (per process %d), want at most %d (1)", r.PeakConcurrency, r.PeakPerProc, cfg.Procs)
	}
	// Every process's first entry expires within one TTL, well inside the
	// run, and its own clients find it expired.
	if r.Expiries < int64(cfg.Procs) || r.BackendCalls < int64(cfg.Procs) {
		t.Errorf("%d expiries and %d backend calls for %d processes, want at least one each", r.Expiries, r.BackendCalls, cfg.Procs)
	}
}

// checkSane checks what holds for any scheme.
func checkSane(t *testing.T, cfg config, r Result) {
	t.Helper()
	if r.Requests == 0 || r.Successes > r.Requests {
		t.Errorf("%s: %d requests, %d successes", r.Scheme, r.Requests, r.Successes)
	}
	if r.BackendCalls == 0 {
		t.Errorf("%s: no backend call, although the key expires every %v", r.Scheme, cfg.TTL)
	}
	if r.Max > ms(cfg.Deadline+cfg.Deadline/2) {
		t.Errorf("%s: slowest request %.1fms, far past the %v deadline", r.Scheme, r.Max, cfg.Deadline)
	}
	if r.PeakConcurrency < 1 || r.PeakPerProc > r.PeakConcurrency {
		t.Errorf("%s: peak %d, peak per process %d", r.Scheme, r.PeakConcurrency, r.PeakPerProc)
	}
}

// checkOnePerExpiry checks that, apart from stragglers (calls started while
// the cache was already fresh again, counted in WhileFresh), a process makes at
// most one backend call per expiry of its cache entry.
func checkOnePerExpiry(t *testing.T, r Result) {
	t.Helper()
	if r.Expiries == 0 || r.BackendCalls-r.WhileFresh > r.Expiries {
		t.Errorf("%s: %d backend calls (%d by stragglers) for %d expiries, want at most one per expiry",
			r.Scheme, r.BackendCalls, r.WhileFresh, r.Expiries)
	}
}

// logTable shows the measured table with go test -v, or when a test fails.
func logTable(t *testing.T, cfg config, runs []schemeRuns) {
	t.Helper()
	var b strings.Builder
	rep := report{Command: "test", Machine: thisMachine(), Config: toJSON(cfg), Schemes: runs}
	if err := writeTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// TestStaleRefreshDoesNotWait checks that a reader who finds the entry
// expired gets it at once while the refresh runs on: the backend here takes
// far longer than the test's bound.
func TestStaleRefreshDoesNotWait(t *testing.T) {
	cfg := testConfig("stale-refresh")
	cfg.Latency, cfg.CacheLatency = time.Hour, 0
	cfg.TTL = 50 * time.Millisecond // bounds the refresh, so it ends within the test
	start := time.Now()
	b := newBackend(cfg, start)
	p := newProc(0, b, cfg, newCache(b, cfg, start)) // expired from the start
	s := schemeByName("stale-refresh").build(p, cfg).(*staleRefresh)
	got := make(chan error, 1)
	go func() {
		_, err := s.get(t.Context(), nil)
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("get: %v, want the stale value", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("get waited for the backend")
	}
	// Join the refresh (or start another, if it ended already) and wait
	// for it: it ends at its timeout, and no goroutine is left.
	select {
	case r := <-s.g.DoChan(hotKey, s.refresh):
		if !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Errorf("refresh: %v, want its timeout", r.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh did not end at its timeout")
	}
	if n := p.b.calls.Load(); n < 1 {
		t.Errorf("%d backend calls, want the refresh", n)
	}
}
