// Command stampede simulates a cache stampede and measures how each way of
// protecting the backend copes with it.
//
// A single hot key sits in a cache with a TTL while many clients, each with
// its own deadline, keep reading it; a lookup takes a short round trip, as
// to a cache server. When the key expires, every client that
// misses could go to the backend: a simulated database with a lognormal
// latency, a bounded connection pool, queries that slow down as the pool
// fills, and a queue that rejects callers once it is full. The same workload
// runs under each scheme in turn:
//
//	none           every miss queries the backend
//	lock-reject    one miss takes a lock and queries; the others get "no data" and retry
//	xsync          golang.org/x/sync/singleflight (DoChan, fn uses the leader's context)
//	flight         flight.Group.DoCtx: each caller waits under its own deadline
//	flight-grace   flight with forget.Split(grace, 0): stragglers share the last result
//	flight-xfetch  flight plus XFetch probabilistic early refresh (Vattani et al., 2015)
//
// The schemes call the real libraries; only the backend and the clients are
// simulated, in real time. For each scheme the program prints backend calls,
// peak backend concurrency, client success rate, retries, latency percentiles
// and throughput; -json prints the same as JSON and -plot writes pictures.
// With -procs N the clients are spread over N simulated processes, each with
// its own cache and group, that share one backend.
//
// Usage:
//
//	go -C bench run ./stampede [flags]
//	go -C bench run ./stampede -duration 1s -clients 50   # a quick smoke run
//	go -C bench run ./stampede -procs 8                    # the fleet view
//	go -C bench run ./stampede -plot out                   # write plots to out/
//
// Run with -h for every flag. docs/stampede.md explains the results.
package main
