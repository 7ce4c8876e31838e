package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := quantile(lat, c.q); got != c.want {
			t.Errorf("quantile(1..100ms, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile(nil) = %v, want 0", got)
	}
}

func TestPeakAndConcurrency(t *testing.T) {
	ms := time.Millisecond
	spans := []interval{
		{0, 0, 25 * ms},       // buckets 0-2
		{0, 5 * ms, 8 * ms},   // overlaps the first in bucket 0
		{1, 25 * ms, 30 * ms}, // starts as the first ends: not overlapping
		{1, 41 * ms, 42 * ms}, // bucket 4
	}
	if got := peak(spans); got != 2 {
		t.Errorf("peak = %d, want 2", got)
	}
	want := []int{2, 1, 1, 0, 1, 0}
	if got := concurrency(spans, 10*ms, 6); !slices.Equal(got, want) {
		t.Errorf("concurrency = %v, want %v", got, want)
	}
	// Events past the last bucket still count, in the last bucket.
	if got := concurrency(spans, 10*ms, 2); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("concurrency into 2 buckets = %v, want [2 1]", got)
	}
}

func TestCCDF(t *testing.T) {
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 100 * time.Millisecond}
	pts := ccdf(lat)
	if len(pts) == 0 || pts[0][1] != 0.75 {
		t.Fatalf("ccdf starts at %v, want 3 of 4 slower than the fastest", pts)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i][0] <= pts[i-1][0] || pts[i][1] > pts[i-1][1] {
			t.Fatalf("ccdf not monotone at %d: %v then %v", i, pts[i-1], pts[i])
		}
	}
	if last := pts[len(pts)-1]; last[1] != 0.25 {
		t.Errorf("ccdf ends at %v, want 1 of 4 slower", last)
	}
}

func TestMedianAndSpread(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3, 1, 2) = %v, want 2", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median(4, 1, 2, 3) = %v, want 2.5", got)
	}
	if got := spread([]float64{99, 100, 98.5}, fmtPercent); got != "99.00% (98.50-100%)" {
		t.Errorf("spread = %q", got)
	}
	if got := spread([]float64{21.3}, fmtMS); got != "21.3ms" {
		t.Errorf("spread of one round = %q, want the value alone", got)
	}
	if got := fmtPercent(99.9996); got != "99.99%" {
		t.Errorf("fmtPercent(99.9996) = %q, want 99.99%%: only 100 is 100%%", got)
	}
	if got := spread([]float64{100, 100}, fmtPercent); got != "100%" {
		t.Errorf("spread of equal rounds = %q, want the value alone", got)
	}
	if got := spread([]float64{20.04, 23.9, 19}, fmtMS); got != "20.0ms (19.0-23.9ms)" {
		t.Errorf("spread = %q", got)
	}
}

func TestRound4(t *testing.T) {
	for _, c := range [][2]float64{{123456, 123500}, {0.00123456, 0.001235}, {1, 1}, {0, 0}} {
		if got := round4(c[0]); got != c[1] {
			t.Errorf("round4(%v) = %v, want %v", c[0], got, c[1])
		}
	}
}

func TestXFetchEarly(t *testing.T) {
	now := time.Now()
	e := &entry{expiry: now.Add(time.Second), delta: 10 * time.Millisecond}
	rng := rand.New(rand.NewPCG(1, 2))
	count := func(x *xfetch, at time.Time) (n int) {
		for range 1000 {
			if x.early(at, e, rng) {
				n++
			}
		}
		return n
	}
	x := &xfetch{beta: 1}
	if n := count(x, e.expiry); n != 1000 {
		t.Errorf("at expiry: %d of 1000 readers recompute, want all", n)
	}
	// P(early) = exp(-gap/(delta*beta)): exp(-100) a second early.
	if n := count(x, now); n != 0 {
		t.Errorf("a second early: %d of 1000 readers recompute, want none", n)
	}
	// Half a delta early, exp(-0.5) ≈ 61% of readers recompute.
	if n := count(x, e.expiry.Add(-e.delta/2)); n < 500 || n > 700 {
		t.Errorf("half a delta early: %d of 1000 readers recompute, want about 607", n)
	}
	if n := count(&xfetch{beta: 0}, e.expiry.Add(-time.Nanosecond)); n != 0 {
		t.Errorf("beta 0: %d early recomputes, want none", n)
	}
}
