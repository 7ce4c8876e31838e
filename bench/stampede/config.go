package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
)

// config holds every knob of a simulation (see parseFlags for each one).
type config struct {
	Clients      int           // client goroutines
	Procs        int           // simulated processes sharing the backend
	Duration     time.Duration // run time per scheme
	TTL          time.Duration // cache lifetime of the hot key
	CacheLatency time.Duration // time a cache lookup takes
	Think        time.Duration // mean pause between a client's requests
	Deadline     time.Duration // client request deadline
	Retries      int           // retries per request after an error
	Backoff      time.Duration // first retry delay; doubles per retry

	Latency  time.Duration // median backend latency on an idle pool
	Sigma    float64       // lognormal shape of the latency
	Slowdown float64       // extra latency factor with a full pool
	Pool     int           // backend connections
	Queue    int           // callers that may wait for a connection

	StallProb float64       // probability that a backend query stalls
	Stall     time.Duration // how long a stalled query holds its connection

	Grace       time.Duration // retention window of flight-grace and flight-grace-xfetch
	Beta        float64       // XFetch eagerness
	CallTimeout time.Duration // flight.WithCallTimeout of the flight schemes; 0: none
	Hedge       time.Duration // flight.WithHedge of the flight-hedge scheme
	Redis       string        // the Redis of the fleet schemes; "": an embedded one

	Schemes []string
	Rounds  int           // runs of every scheme, interleaved, with seeds Seed, Seed+1, ...
	Seed    uint64        // seed of the first round
	Bucket  time.Duration // time resolution of the load series
}

// defaultConfig is the configuration of `go run .` with no flags: three
// rounds of two seconds per scheme, about 6.5 seconds per scheme in all.
func defaultConfig() config {
	return config{
		Clients:      200,
		Procs:        1,
		Duration:     2 * time.Second,
		TTL:          500 * time.Millisecond,
		CacheLatency: time.Millisecond,
		Think:        10 * time.Millisecond,
		Deadline:     100 * time.Millisecond,
		Retries:      3,
		Backoff:      5 * time.Millisecond,
		Latency:      20 * time.Millisecond,
		Sigma:        0.5,
		Slowdown:     3,
		Pool:         8,
		Queue:        32,
		Stall:        2 * time.Second,
		Grace:        50 * time.Millisecond,
		Beta:         1,
		Hedge:        50 * time.Millisecond,
		Schemes:      schemeNames(),
		Rounds:       3,
		Seed:         1,
		Bucket:       10 * time.Millisecond,
	}
}

// options are the flags that choose outputs rather than the simulation.
type options struct {
	json  bool
	from  string // print the table of a saved -json report instead of running
	quiet bool
}

// parseFlags parses args into a config and output options.
func parseFlags(args []string, fs *flag.FlagSet) (config, options, error) {
	c := defaultConfig()
	var o options
	fs.IntVar(&c.Clients, "clients", c.Clients, "client goroutines reading the hot key")
	fs.IntVar(&c.Procs, "procs", c.Procs, "simulated processes, each with its own cache and group, sharing one backend")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "run time of each scheme")
	fs.DurationVar(&c.TTL, "ttl", c.TTL, "cache lifetime of the hot key")
	fs.DurationVar(&c.CacheLatency, "cache-latency", c.CacheLatency, "time a cache lookup takes (a round trip to a cache server)")
	fs.DurationVar(&c.Think, "think", c.Think, "mean pause between a client's requests (exponential)")
	fs.DurationVar(&c.Deadline, "deadline", c.Deadline, "deadline of each client request")
	fs.IntVar(&c.Retries, "retries", c.Retries, "retries per request after an error, within the deadline")
	fs.DurationVar(&c.Backoff, "backoff", c.Backoff, "first retry delay (doubles per retry, jittered)")
	fs.DurationVar(&c.Latency, "latency", c.Latency, "median backend latency with an idle pool")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "lognormal sigma of the backend latency (0: constant)")
	fs.Float64Var(&c.Slowdown, "slowdown", c.Slowdown, "backend latency grows by this factor as the pool fills")
	fs.IntVar(&c.Pool, "pool", c.Pool, "backend connection pool size")
	fs.IntVar(&c.Queue, "queue", c.Queue, "callers that may wait for a connection; more are rejected")
	fs.Float64Var(&c.StallProb, "stall-prob", c.StallProb, "probability that a backend query stalls (a heavy latency tail)")
	fs.DurationVar(&c.Stall, "stall", c.Stall, "how long a stalled query holds its connection (unless its context ends)")
	fs.DurationVar(&c.Grace, "grace", c.Grace, "retention window of flight-grace and flight-grace-xfetch (forget.Split(grace, 0)); fleet-grace keeps its entry for -ttl")
	fs.Float64Var(&c.Beta, "beta", c.Beta, "XFetch beta: >1 refreshes earlier, <1 later")
	fs.DurationVar(&c.CallTimeout, "call-timeout", c.CallTimeout, "flight.WithCallTimeout for the flight schemes (0: none)")
	fs.DurationVar(&c.Hedge, "hedge", c.Hedge, "flight.WithHedge for the flight-hedge scheme: a backup query after this long without an answer")
	fs.StringVar(&c.Redis, "redis", c.Redis, "address of the Redis that the fleet and redis-lock-poll schemes share (default: an embedded one)")
	schemes := fs.String("schemes", strings.Join(c.Schemes, ","), "comma-separated schemes to run: "+strings.Join(schemeNames(), ", "))
	fs.IntVar(&c.Rounds, "rounds", c.Rounds, "runs of each scheme, interleaved, seeded -seed, -seed+1, ...; the table shows their median and range")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed of the first round")
	fs.DurationVar(&c.Bucket, "bucket", c.Bucket, "time resolution of the backend load series")
	fs.BoolVar(&o.json, "json", false, "print the full report as JSON (the input of the plot command) instead of a table")
	fs.StringVar(&o.from, "from", "", "print the table of a report saved with -json, instead of running")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line on stderr")
	if err := fs.Parse(args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.Schemes = splitList(*schemes)
	return c, o, c.validate()
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// validate reports the first knob that cannot work.
func (c config) validate() error {
	switch {
	case c.Clients < 1 || c.Procs < 1:
		return errors.New("-clients and -procs must be at least 1")
	case c.Procs > c.Clients:
		return errors.New("-procs must not exceed -clients")
	case c.Duration <= 0 || c.TTL <= 0 || c.Deadline <= 0 || c.Latency <= 0 || c.Bucket <= 0 || c.Hedge <= 0:
		return errors.New("-duration, -ttl, -deadline, -latency, -bucket and -hedge must be positive")
	case c.Think < 0 || c.Backoff < 0 || c.Grace < 0 || c.Retries < 0 || c.CacheLatency < 0 ||
		c.Stall < 0 || c.CallTimeout < 0:
		return errors.New("-think, -backoff, -grace, -retries, -cache-latency, -stall and -call-timeout must not be negative")
	case c.StallProb < 0 || c.StallProb > 1:
		return errors.New("-stall-prob must be between 0 and 1")
	case c.Rounds < 1:
		return errors.New("-rounds must be at least 1")
	case c.Sigma < 0 || c.Slowdown < 0 || c.Beta < 0:
		return errors.New("-sigma, -slowdown and -beta must not be negative")
	case c.Pool < 1 || c.Queue < 0:
		return errors.New("-pool must be at least 1 and -queue not negative")
	case len(c.Schemes) == 0:
		return errors.New("-schemes is empty")
	}
	for _, s := range c.Schemes {
		if !slices.Contains(schemeNames(), s) {
			return fmt.Errorf("unknown scheme %q (have %s)", s, strings.Join(schemeNames(), ", "))
		}
	}
	return nil
}
