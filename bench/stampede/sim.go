package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

// simulate runs every scheme of cfg for cfg.Rounds rounds and returns their
// results, in the order of cfg.Schemes. The rounds are interleaved (every
// scheme once, then every scheme again), so a disturbance on the machine
// that lasts a few seconds hits one round of several schemes rather than
// every round of one. Round r uses the seed cfg.Seed+r. When progress is
// not nil it receives a progress line while each runs.
func simulate(cfg config, progress io.Writer) []schemeRuns {
	stop := startRedis(&cfg) // for the schemes that need one
	defer stop()
	out := make([]schemeRuns, len(cfg.Schemes))
	latencies := make([][]time.Duration, len(cfg.Schemes))
	total := cfg.Rounds * len(cfg.Schemes)
	for r := range cfg.Rounds {
		rc := cfg
		rc.Seed = cfg.Seed + uint64(r)
		for i, name := range cfg.Schemes {
			label := fmt.Sprintf("[%d/%d] round %d %-19s", r*len(cfg.Schemes)+i+1, total, r+1, name)
			res := runScheme(rc, schemeByName(name), label, progress)
			if r == 0 {
				out[i] = schemeRuns{Scheme: name, Load: res.Load}
			}
			latencies[i] = append(latencies[i], res.Latencies...)
			res.Load, res.Latencies = nil, nil
			out[i].Rounds = append(out[i].Rounds, res)
		}
	}
	for i := range out {
		slices.Sort(latencies[i])
		out[i].CCDF = ccdf(latencies[i])
	}
	if progress != nil {
		fmt.Fprintf(progress, "\r%-78s\r", "")
	}
	return out
}

// sim is the state of one scheme's run.
type sim struct {
	cfg     config
	start   time.Time
	b       *backend
	procs   []*proc
	clients []*client
}

// runScheme runs the workload of cfg against one scheme: it warms every
// process's cache, lets the clients read for cfg.Duration, waits for the
// backend to go quiet, and summarises.
func runScheme(cfg config, s scheme, label string, progress io.Writer) Result {
	r := newRun(cfg, s)
	end := r.start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Go(func() { c.run(end) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	r.watch(done, label, progress)
	elapsed := time.Since(r.start)
	r.drain()
	for _, p := range r.procs {
		if c, ok := p.get.(interface{ close() }); ok {
			c.close()
		}
	}
	return r.summarize(s.name, elapsed)
}

// newRun builds the backend, the processes and the clients. Each process's
// cache starts warm, and the first expiries are spread over the second half
// of a TTL, as they would be in a fleet whose processes started apart.
func newRun(cfg config, s scheme) *sim {
	r := &sim{cfg: cfg, start: time.Now()}
	r.b = newBackend(cfg, r.start)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	r.procs = make([]*proc, cfg.Procs)
	var shared *cache // the one entry in Redis, for the schemes that share it
	for i := range r.procs {
		first := r.start.Add(time.Duration((0.5 + 0.5*rng.Float64()) * float64(cfg.TTL)))
		c := newCache(r.b, cfg, first)
		if s.entry == redisEntry {
			if shared == nil {
				shared = c
			}
			c = shared
		}
		p := newProc(i, r.b, cfg, c)
		p.get = s.build(p, cfg)
		r.procs[i] = p
	}
	r.clients = make([]*client, cfg.Clients)
	for i := range r.clients {
		r.clients[i] = newClient(i, r.procs[i%cfg.Procs], cfg)
	}
	return r
}

// watch redraws the progress line until done is closed.
func (r *sim) watch(done <-chan struct{}, label string, w io.Writer) {
	if w == nil {
		<-done
		return
	}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			fmt.Fprintf(w, "\r%s %4.1fs/%.1fs  backend: %5d calls, %3d in flight ",
				label, time.Since(r.start).Seconds(), r.cfg.Duration.Seconds(),
				r.b.calls.Load(), r.b.inside.Load())
		}
	}
}

// drainLimit bounds how long drain waits for abandoned work to stop.
const drainLimit = 5 * time.Second

// drain waits until no backend query and no flight call is left running.
// Every client has returned by now, so what remains is work whose callers
// all left: x/sync calls whose starter's context is cancelled, and flight
// calls that were abandoned. Both stop promptly, but neither library offers
// a way to wait for it, so drain polls the backend and the groups.
func (r *sim) drain() {
	deadline := time.Now().Add(drainLimit)
	for !r.quiet() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (r *sim) quiet() bool {
	if r.b.inside.Load() > 0 {
		return false
	}
	for _, p := range r.procs {
		if f, ok := p.get.(interface{ inFlight() int }); ok && f.inFlight() > 0 {
			return false
		}
	}
	return true
}
