package main

import "testing"

// TestFleetSchemes checks the schemes that share one entry in Redis, on
// the embedded Redis, against flight with the same four processes: fleet
// makes one backend call per expiry for the whole fleet, where flight makes
// one per process; redis-lock-poll holds one query at a time too.
func TestFleetSchemes(t *testing.T) {
	cfg := testConfig("flight", "fleet", "redis-lock-poll")
	cfg.Procs = 4
	res := byScheme(simulateOnce(t, cfg))
	for _, r := range res {
		checkSane(t, cfg, r)
	}
	fl, fleet, poll := res["flight"], res["fleet"], res["redis-lock-poll"]
	checkOnePerExpiry(t, fleet) // the shared entry's expiries, counted once
	if fleet.WhileFresh != 0 {
		t.Errorf("fleet: %d calls while the entry was fresh, want 0 (the leader looks again first)", fleet.WhileFresh)
	}
	if fleet.BackendCalls*2 > fl.BackendCalls {
		t.Errorf("backend calls: fleet %d, flight %d over %d processes; want fleet far fewer",
			fleet.BackendCalls, fl.BackendCalls, cfg.Procs)
	}
	for _, r := range []Result{fleet, poll} {
		if r.PeakConcurrency > 1 {
			t.Errorf("%s: %d concurrent backend queries, want one at a time in the fleet", r.Scheme, r.PeakConcurrency)
		}
	}
	if fleet.SuccessRate != 1 {
		t.Errorf("fleet: success rate %.4f, want 1", fleet.SuccessRate)
	}
}

// TestStartRedis checks that the embedded Redis runs for exactly the
// schemes that talk to Redis, so that none of them ever reaches for a
// server that happens to listen on the default address.
func TestStartRedis(t *testing.T) {
	for _, s := range schemes {
		cfg := testConfig(s.name)
		stop := startRedis(&cfg)
		if got := cfg.Redis != ""; got != s.needsRedis() {
			t.Errorf("%s: embedded Redis started %v, want %v", s.name, got, s.needsRedis())
		}
		stop()
	}
	want := map[string]bool{"fleet": true, "fleet-grace": true, "fleet-xfetch": true, "redis-lock-poll": true}
	for _, s := range schemes {
		if s.needsRedis() != want[s.name] {
			t.Errorf("%s: needsRedis %v, want %v", s.name, s.needsRedis(), want[s.name])
		}
	}
}
