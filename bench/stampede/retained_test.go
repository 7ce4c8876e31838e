package main

import "testing"

// TestRetainedSchemes checks the schemes whose entry is the outcome that
// fleet retains in Redis, with four processes on the embedded Redis:
// fleet-grace refills the expired entry with one backend call for the
// whole fleet; fleet-xfetch refreshes it before it expires, one refresh
// at a time in the fleet, so no reader ever finds it expired, where
// flight-xfetch refreshes in every process.
func TestRetainedSchemes(t *testing.T) {
	cfg := testConfig("flight-xfetch", "fleet-grace", "fleet-xfetch")
	cfg.Procs = 4
	res := byScheme(simulateOnce(t, cfg))
	for _, r := range res {
		checkSane(t, cfg, r)
		if r.SuccessRate != 1 {
			t.Errorf("%s: success rate %.4f, want 1", r.Scheme, r.SuccessRate)
		}
	}
	fx, grace, xf := res["flight-xfetch"], res["fleet-grace"], res["fleet-xfetch"]
	checkOnePerExpiry(t, grace)
	for _, r := range []Result{grace, xf} {
		if r.PeakConcurrency > 1 {
			t.Errorf("%s: %d concurrent backend queries, want one at a time in the fleet", r.Scheme, r.PeakConcurrency)
		}
		if r.RetainedHits == 0 {
			t.Errorf("%s: no read answered from Redis", r.Scheme)
		}
	}
	if xf.WhileFresh == 0 || xf.Expiries != 0 {
		t.Errorf("fleet-xfetch: %d early refreshes, %d expiries; want every refresh early", xf.WhileFresh, xf.Expiries)
	}
	// A TTL this short, against a 20 ms fetch, makes XFetch refresh
	// early (about twice per TTL here); the default run's 500 ms TTL gives
	// about one (docs/stampede.md).
	if xf.BackendCalls*2 > fx.BackendCalls {
		t.Errorf("fleet-xfetch: %d backend calls, flight-xfetch %d over %d processes; want far fewer",
			xf.BackendCalls, fx.BackendCalls, cfg.Procs)
	}
}
