package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// writeTable prints one aligned row per result.
func writeTable(w io.Writer, cfg config, results []Result) error {
	fmt.Fprintf(w, "%d clients, %d proc(s), %v per scheme, TTL %v, cache lookup %v, deadline %v; backend %v median, pool %d, queue %d\n\n",
		cfg.Clients, cfg.Procs, cfg.Duration, cfg.TTL, cfg.CacheLatency, cfg.Deadline, cfg.Latency, cfg.Pool, cfg.Queue)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scheme\tcalls\trejected\texpiries\tcalls/expiry\tdup/early\tpeak\tpeak/proc\tsuccess\tretries\tp50\tp99\tmax\treq/s\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%.2f%%\t%d\t%s\t%s\t%s\t%.0f\t\n",
			r.Scheme, r.BackendCalls, r.Rejected, r.Expiries, perExpiry(r), r.WhileFresh,
			r.PeakConcurrency, r.PeakPerProc, 100*r.SuccessRate, r.Retries,
			fmtMS(r.P50), fmtMS(r.P99), fmtMS(r.Max), r.Throughput)
	}
	return tw.Flush()
}

func perExpiry(r Result) string {
	if r.Expiries == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(r.BackendCalls)/float64(r.Expiries))
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

// report is the -json output.
type report struct {
	Config  jsonConfig `json:"config"`
	Results []Result   `json:"results"`
}

// jsonConfig is config with durations in milliseconds.
type jsonConfig struct {
	Clients    int      `json:"clients"`
	Procs      int      `json:"procs"`
	DurationMS float64  `json:"duration_ms"`
	TTLMS      float64  `json:"ttl_ms"`
	CacheMS    float64  `json:"cache_latency_ms"`
	ThinkMS    float64  `json:"think_ms"`
	DeadlineMS float64  `json:"deadline_ms"`
	Retries    int      `json:"retries"`
	BackoffMS  float64  `json:"backoff_ms"`
	LatencyMS  float64  `json:"latency_ms"`
	Sigma      float64  `json:"sigma"`
	Slowdown   float64  `json:"slowdown"`
	Pool       int      `json:"pool"`
	Queue      int      `json:"queue"`
	GraceMS    float64  `json:"grace_ms"`
	Beta       float64  `json:"beta"`
	Schemes    []string `json:"schemes"`
	Seed       uint64   `json:"seed"`
	BucketMS   float64  `json:"bucket_ms"`
}

// writeJSON prints the configuration and the results as indented JSON.
func writeJSON(w io.Writer, c config, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report{
		Config: jsonConfig{
			Clients: c.Clients, Procs: c.Procs, DurationMS: ms(c.Duration), TTLMS: ms(c.TTL), CacheMS: ms(c.CacheLatency),
			ThinkMS: ms(c.Think), DeadlineMS: ms(c.Deadline), Retries: c.Retries,
			BackoffMS: ms(c.Backoff), LatencyMS: ms(c.Latency), Sigma: c.Sigma,
			Slowdown: c.Slowdown, Pool: c.Pool, Queue: c.Queue, GraceMS: ms(c.Grace),
			Beta: c.Beta, Schemes: c.Schemes, Seed: c.Seed, BucketMS: ms(c.Bucket),
		},
		Results: results,
	})
}
