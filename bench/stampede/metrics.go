package main

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// schemeRuns holds every round of one scheme, and the series the plot
// command draws.
type schemeRuns struct {
	Scheme string   `json:"scheme"`
	Rounds []Result `json:"rounds"`
	// Load is the peak backend concurrency in each -bucket of the first
	// round (a time series does not average over rounds).
	Load []int `json:"load"`
	// CCDF is the client latency of every round pooled: points (x in ms,
	// fraction of requests slower than x), evenly spaced on a log axis.
	CCDF [][2]float64 `json:"latency_ccdf"`
}

// Result is the outcome of one round of one scheme. Durations are in
// milliseconds.
type Result struct {
	Scheme string `json:"scheme"`
	Seed   uint64 `json:"seed"`

	// BackendCalls counts queries that reached the backend, rejected ones
	// included; Rejected counts those turned away with "overloaded", and
	// Stalls those that drew a -stall-prob stall.
	BackendCalls int64 `json:"backend_calls"`
	Rejected     int64 `json:"rejected"`
	Stalls       int64 `json:"stalls"`
	// CallsPerTTL is BackendCalls per TTL window of the run (-duration
	// over -ttl), over all processes: 1.0 is one refresh per window.
	CallsPerTTL float64 `json:"calls_per_ttl"`
	// Expiries counts cache entries that a reader found expired, over all
	// processes. XFetch keeps this near zero by refreshing early.
	Expiries int64 `json:"expiries"`
	// WhileFresh counts backend calls started while the process's cache was
	// fresh: XFetch's early refreshes, or, under the other schemes,
	// duplicate calls by stragglers (the "dup/early" column).
	WhileFresh int64 `json:"calls_while_fresh"`
	// RetainedHits counts callers that a flight group served from a result
	// it retained (flight-grace), without a backend call.
	RetainedHits uint64 `json:"retained_hits"`
	// PeakConcurrency is the most backend queries admitted at once (queued
	// for a connection or running); PeakPerProc is the most from any one
	// process.
	PeakConcurrency int `json:"peak_concurrency"`
	PeakPerProc     int `json:"peak_per_proc"`

	Requests    int64   `json:"requests"`
	Successes   int64   `json:"successes"`
	SuccessRate float64 `json:"success_rate"`
	Retries     int64   `json:"retries"`
	// P50, P99 and Max are client request latencies, failures included
	// (a failed request lasts until the client gives up).
	P50        float64 `json:"p50_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	Throughput float64 `json:"throughput_per_s"` // successful requests per second
	MaxAge     float64 `json:"max_age_ms"`       // oldest value served

	// Load is the peak backend concurrency in each bucket of the run, and
	// Latencies every request's latency, sorted; both feed the plots.
	Load      []int           `json:"-"`
	Latencies []time.Duration `json:"-"`
}

// summarize collects the run's measurements; elapsed is the clients' time.
func (r *sim) summarize(name string, elapsed time.Duration) Result {
	res := Result{
		Scheme:       name,
		Seed:         r.cfg.Seed,
		BackendCalls: r.b.calls.Load(),
		Rejected:     r.b.reject.Load(),
		Stalls:       r.b.stalls.Load(),
	}
	res.CallsPerTTL = float64(res.BackendCalls) * float64(r.cfg.TTL) / float64(r.cfg.Duration)
	counted := map[*cache]bool{} // a shared entry expires once for all
	for _, p := range r.procs {
		if !counted[p.cache] {
			counted[p.cache] = true
			res.Expiries += p.cache.expiries.Load()
		}
		res.WhileFresh += p.dup.Load()
		if f, ok := p.get.(interface{ hits() uint64 }); ok {
			res.RetainedHits += f.hits()
		}
		if f, ok := p.get.(interface{ expiries() int64 }); ok {
			res.Expiries += f.expiries() // the entry lives in Redis (retained.go)
		}
		if f, ok := p.get.(interface{ refreshes() int64 }); ok {
			res.WhileFresh += f.refreshes()
		}
	}
	var maxAge time.Duration
	for _, c := range r.clients {
		res.Successes += c.ok
		res.Requests += c.ok + c.fail
		res.Retries += c.retries
		res.Latencies = append(res.Latencies, c.latencies...)
		maxAge = max(maxAge, c.maxAge)
	}
	slices.Sort(res.Latencies)
	if res.Requests > 0 {
		res.SuccessRate = float64(res.Successes) / float64(res.Requests)
	}
	res.P50 = ms(quantile(res.Latencies, 0.50))
	res.P99 = ms(quantile(res.Latencies, 0.99))
	res.Max = ms(quantile(res.Latencies, 1))
	res.MaxAge = ms(maxAge)
	res.Throughput = float64(res.Successes) / elapsed.Seconds()

	spans := r.b.intervals()
	buckets := int(elapsed/r.cfg.Bucket) + 1
	res.Load = concurrency(spans, r.cfg.Bucket, buckets)
	res.PeakConcurrency = peak(spans)
	for i := range r.procs {
		mine := slices.DeleteFunc(slices.Clone(spans), func(iv interval) bool { return iv.proc != i })
		res.PeakPerProc = max(res.PeakPerProc, peak(mine))
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile returns the q-quantile of sorted (nearest rank), or 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// event is the start (+1) or end (-1) of a backend query.
type event struct {
	at   time.Duration
	step int
}

// events returns the starts and ends of spans in time order; at equal times
// an end comes first, so back-to-back queries do not count as overlapping.
func events(spans []interval) []event {
	ev := make([]event, 0, 2*len(spans))
	for _, s := range spans {
		ev = append(ev, event{s.start, +1}, event{s.end, -1})
	}
	slices.SortFunc(ev, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.step, b.step))
	})
	return ev
}

// peak returns the most spans open at one instant.
func peak(spans []interval) int {
	n, top := 0, 0
	for _, e := range events(spans) {
		n += e.step
		top = max(top, n)
	}
	return top
}

// concurrency returns, for each of n buckets of width w, the most spans open
// at one instant within it.
func concurrency(spans []interval, w time.Duration, n int) []int {
	out := make([]int, n)
	cur := 0
	ev := events(spans)
	for b := range out {
		// Queries still open from earlier buckets, less those that end
		// exactly as this bucket starts.
		for len(ev) > 0 && ev[0].at == time.Duration(b)*w && ev[0].step < 0 {
			cur += ev[0].step
			ev = ev[1:]
		}
		out[b] = cur
		end := time.Duration(b+1) * w
		for len(ev) > 0 && (ev[0].at < end || b == n-1) {
			cur += ev[0].step
			out[b] = max(out[b], cur)
			ev = ev[1:]
		}
	}
	return out
}

// latencyFloor (ms) is where the latency CCDF starts: cache hits below it
// differ only by scheduling noise.
const latencyFloor = 0.01

// ccdf returns about 200 points (x in ms, fraction of latencies above x)
// spaced evenly on a log axis, from sorted latencies. x and the fraction
// are rounded to 4 significant digits, which the plots cannot tell apart
// and which keeps saved reports small.
func ccdf(sorted []time.Duration) [][2]float64 {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	lo := math.Log10(max(ms(sorted[0]), latencyFloor))
	hi := math.Log10(max(ms(sorted[n-1]), latencyFloor))
	const steps = 200
	var pts [][2]float64
	for s := 0; s <= steps; s++ {
		x := round4(math.Pow(10, lo+(hi-lo)*float64(s)/steps))
		at := time.Duration(x * float64(time.Millisecond))
		i, _ := slices.BinarySearch(sorted, at+1) // first latency > at
		if i == n {
			break
		}
		if len(pts) > 0 && pts[len(pts)-1][0] == x {
			continue
		}
		pts = append(pts, [2]float64{x, round4(float64(n-i) / float64(n))})
	}
	return pts
}

// round4 rounds x to 4 significant digits.
func round4(x float64) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
