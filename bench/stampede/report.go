package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// report is the -json output, and what -from reads back.
type report struct {
	// Command is the simulator's command line, without -json.
	Command string       `json:"command"`
	Machine machine      `json:"machine"`
	Config  jsonConfig   `json:"config"`
	Schemes []schemeRuns `json:"schemes"`
}

// machine is what the run shared the machine with: results depend on it.
type machine struct {
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
	// LoadAvg is the one-minute load average when the run started (Linux
	// only, else -1): work that other processes were doing.
	LoadAvg float64 `json:"load_avg"`
}

func thisMachine() machine {
	return machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadAvg: loadAvg()}
}

// loadAvg returns the one-minute load average, or -1 where it is unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// busy reports whether other work kept the machine's CPUs more than half
// busy when the run started.
func (m machine) busy() bool { return m.LoadAvg > float64(m.CPUs)/2 }

// jsonConfig is config with durations in milliseconds.
type jsonConfig struct {
	Clients       int      `json:"clients"`
	Procs         int      `json:"procs"`
	DurationMS    float64  `json:"duration_ms"`
	TTLMS         float64  `json:"ttl_ms"`
	CacheMS       float64  `json:"cache_latency_ms"`
	ThinkMS       float64  `json:"think_ms"`
	DeadlineMS    float64  `json:"deadline_ms"`
	Retries       int      `json:"retries"`
	BackoffMS     float64  `json:"backoff_ms"`
	LatencyMS     float64  `json:"latency_ms"`
	Sigma         float64  `json:"sigma"`
	Slowdown      float64  `json:"slowdown"`
	Pool          int      `json:"pool"`
	Queue         int      `json:"queue"`
	StallProb     float64  `json:"stall_prob"`
	StallMS       float64  `json:"stall_ms"`
	GraceMS       float64  `json:"grace_ms"`
	Beta          float64  `json:"beta"`
	CallTimeoutMS float64  `json:"call_timeout_ms"`
	HedgeMS       float64  `json:"hedge_ms"`
	Schemes       []string `json:"schemes"`
	Rounds        int      `json:"rounds"`
	Seed          uint64   `json:"seed"`
	BucketMS      float64  `json:"bucket_ms"`
}

func toJSON(c config) jsonConfig {
	return jsonConfig{
		Clients: c.Clients, Procs: c.Procs, DurationMS: ms(c.Duration), TTLMS: ms(c.TTL),
		CacheMS: ms(c.CacheLatency), ThinkMS: ms(c.Think), DeadlineMS: ms(c.Deadline),
		Retries: c.Retries, BackoffMS: ms(c.Backoff), LatencyMS: ms(c.Latency), Sigma: c.Sigma,
		Slowdown: c.Slowdown, Pool: c.Pool, Queue: c.Queue, StallProb: c.StallProb,
		StallMS: ms(c.Stall), GraceMS: ms(c.Grace), Beta: c.Beta, CallTimeoutMS: ms(c.CallTimeout),
		HedgeMS: ms(c.Hedge), Schemes: c.Schemes, Rounds: c.Rounds, Seed: c.Seed, BucketMS: ms(c.Bucket),
	}
}

func fromMS(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func (j jsonConfig) config() config {
	return config{
		Clients: j.Clients, Procs: j.Procs, Duration: fromMS(j.DurationMS), TTL: fromMS(j.TTLMS),
		CacheLatency: fromMS(j.CacheMS), Think: fromMS(j.ThinkMS), Deadline: fromMS(j.DeadlineMS),
		Retries: j.Retries, Backoff: fromMS(j.BackoffMS), Latency: fromMS(j.LatencyMS), Sigma: j.Sigma,
		Slowdown: j.Slowdown, Pool: j.Pool, Queue: j.Queue, StallProb: j.StallProb,
		Stall: fromMS(j.StallMS), Grace: fromMS(j.GraceMS), Beta: j.Beta, CallTimeout: fromMS(j.CallTimeoutMS),
		Hedge: fromMS(j.HedgeMS), Schemes: j.Schemes, Rounds: j.Rounds, Seed: j.Seed, Bucket: fromMS(j.BucketMS),
	}
}

// writeJSON prints the report as JSON with a line per top-level field and
// per scheme: small enough to commit (indenting every point of the series
// would make it ten times longer) and still diffable scheme by scheme.
func writeJSON(w io.Writer, rep report) error {
	var b bytes.Buffer
	field := func(name string, v any, last bool) error {
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  %q: %s", name, j)
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
		return nil
	}
	b.WriteString("{\n")
	if err := errors.Join(field("command", rep.Command, false), field("machine", rep.Machine, false),
		field("config", rep.Config, false)); err != nil {
		return err
	}
	b.WriteString("  \"schemes\": [\n")
	for i, s := range rep.Schemes {
		j, err := json.Marshal(s)
		if err != nil {
			return err
		}
		b.WriteString("    ")
		b.Write(j)
		if i < len(rep.Schemes)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("  ]\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// readReport reads a report saved with -json.
func readReport(path string) (report, error) {
	var rep report
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	if len(rep.Schemes) == 0 {
		return rep, fmt.Errorf("%s: no results", path)
	}
	return rep, nil
}

// writeTable prints the run's settings and one aligned row per scheme: the
// median of its rounds and, for the columns that vary most, their range.
func writeTable(w io.Writer, rep report) error {
	cfg := rep.Config.config()
	fmt.Fprintf(w, "%s\n", rep.Command)
	fmt.Fprintf(w, "%d clients, %d proc(s), TTL %v, cache lookup %v, deadline %v; backend %v median, pool %d, queue %d",
		cfg.Clients, cfg.Procs, cfg.TTL, cfg.CacheLatency, cfg.Deadline, cfg.Latency, cfg.Pool, cfg.Queue)
	if cfg.StallProb > 0 {
		fmt.Fprintf(w, ", %g%% of queries stall for %v", 100*cfg.StallProb, cfg.Stall)
	}
	if cfg.CallTimeout > 0 {
		fmt.Fprintf(w, "; flight call timeout %v", cfg.CallTimeout)
	}
	fmt.Fprintln(w)
	m := rep.Machine
	load := "unknown"
	if m.LoadAvg >= 0 {
		load = fmt.Sprintf("%.2f", m.LoadAvg)
	}
	fmt.Fprintf(w, "%d round(s) of %v per scheme, interleaved; %d CPUs, load average %s at the start, %s\n",
		cfg.Rounds, cfg.Duration, m.CPUs, load, m.Go)
	if cfg.Rounds > 1 {
		fmt.Fprintf(w, "each cell is the median of the rounds; (min-max) over the rounds for calls/TTL, success and p99\n")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scheme\tcalls/TTL\trejected\texpiries\tdup/early\tpeak\tpeak/proc\tsuccess\tretries\tp50\tp99\tmax\tmax age\treq/s\t")
	for _, s := range rep.Schemes {
		col := func(f func(Result) float64) []float64 {
			v := make([]float64, len(s.Rounds))
			for i, r := range s.Rounds {
				v[i] = f(r)
			}
			return v
		}
		num := func(f func(Result) float64) string { return fmtNum(median(col(f))) }
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			s.Scheme,
			spread(col(func(r Result) float64 { return r.CallsPerTTL }), func(v float64) string { return fmt.Sprintf("%.1f", v) }),
			num(func(r Result) float64 { return float64(r.Rejected) }),
			num(func(r Result) float64 { return float64(r.Expiries) }),
			num(func(r Result) float64 { return float64(r.WhileFresh) }),
			num(func(r Result) float64 { return float64(r.PeakConcurrency) }),
			num(func(r Result) float64 { return float64(r.PeakPerProc) }),
			spread(col(func(r Result) float64 { return 100 * r.SuccessRate }), fmtPercent),
			num(func(r Result) float64 { return float64(r.Retries) }),
			fmtMS(median(col(func(r Result) float64 { return r.P50 }))),
			spread(col(func(r Result) float64 { return r.P99 }), fmtMS),
			fmtMS(median(col(func(r Result) float64 { return r.Max }))),
			fmtMS(median(col(func(r Result) float64 { return r.MaxAge }))),
			fmt.Sprintf("%.0f", median(col(func(r Result) float64 { return r.Throughput }))))
	}
	return tw.Flush()
}

// spread formats the median of v, followed by its range when the values
// differ: "21.3ms (19.0-23.9ms)".
func spread(v []float64, f func(float64) string) string {
	lo, hi := f(slices.Min(v)), f(slices.Max(v))
	if lo == hi {
		return f(median(v))
	}
	unit := strings.TrimRightFunc(lo, func(r rune) bool { return !unicode.IsDigit(r) })
	if unit = lo[len(unit):]; strings.HasSuffix(hi, unit) {
		lo = strings.TrimSuffix(lo, unit)
	}
	return fmt.Sprintf("%s (%s-%s)", f(median(v)), lo, hi)
}

// median returns the median of v (the mean of the middle two when len(v) is
// even), or 0 when v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// fmtNum formats a count, which is fractional only as the median of an even
// number of rounds.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// fmtPercent formats a success rate: two decimals, rounded down so that
// 100% means every request succeeded.
func fmtPercent(v float64) string {
	if v == 100 {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", math.Floor(v*100+1e-6)/100)
}

// fmtMS formats milliseconds with a unit that keeps three digits or fewer.
func fmtMS(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", ms*1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return d.Round(time.Second).String()
	}
}
