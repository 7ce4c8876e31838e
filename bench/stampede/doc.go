// Command stampede simulates a cache stampede and measures how each way of
// protecting the backend copes with it.
//
// A single hot key sits in a cache with a TTL while many clients, each with
// its own deadline, keep reading it; a lookup takes a short round trip, as
// to a cache server. When the key expires, every client that
// misses could go to the backend: a simulated database with a lognormal
// latency, a bounded connection pool, queries that slow down as the pool
// fills, a queue that rejects callers once it is full and, with -stall-prob,
// queries that stall. The same workload runs under each scheme in turn:
//
//	none                 every miss queries the backend
//	lock-reject          one miss takes a lock and queries; the others get "no data" and retry
//	xsync                golang.org/x/sync/singleflight (DoChan, fn uses the leader's context)
//	xsync-nocancel       xsync with fn under context.WithoutCancel(leader's context)
//	flight               flight.Group.DoCtx: each caller waits under its own deadline
//	flight-grace         flight with forget.Split(grace, 0): stragglers share the last result
//	flight-xfetch        flight plus XFetch probabilistic early refresh (Vattani et al., 2015)
//	flight-grace-xfetch  flight-grace plus XFetch
//	flight-hedge         flight with WithHedge(-hedge): a backup query when the first is slow
//	stale-refresh        serve the expired value, refresh in the background (one per process)
//	fleet                fleet.Group on a shared Redis: one query per expiry for all processes,
//	                     followers woken by pub/sub
//	fleet-grace          fleet with the entry retained in Redis for a TTL (fleet.WithForget):
//	                     one refill per expiry for all processes, the readers wait
//	fleet-xfetch         fleet-grace plus fleet's early refresh (XFetch): one refresh per TTL
//	                     for all processes, in the background; nobody waits
//	redis-lock-poll      the hand-written pattern on a shared Redis: SET NX lock, the holder
//	                     queries, the others poll the entry every 50ms
//
// The schemes call the real libraries; only the backend and the clients are
// simulated, in real time. Each scheme runs -rounds times (interleaved, a
// seed per round); the table shows, per scheme, backend calls per TTL
// window, peak backend concurrency, client success rate, retries, latency
// percentiles, the oldest value served and throughput: the median of the
// rounds, and the range of those that vary most (calls per TTL window,
// success rate and p99). -json prints the
// whole report, which the plot command in ./plot (a module of its own)
// draws, and -from prints the table of a saved report again. With -procs N
// the clients are spread over N simulated processes, each with its own
// cache and group, that share one backend; under fleet, fleet-grace,
// fleet-xfetch and redis-lock-poll they share one cache entry instead, kept
// in one Redis (an embedded one, or -redis ADDR), and each has its own
// Redis client.
//
// Usage:
//
//	go -C bench/stampede run . [flags]
//	go -C bench/stampede run . -duration 1s -clients 50 -rounds 1   # a quick smoke run
//	go -C bench/stampede run . -procs 8                             # the fleet view
//	go -C bench/stampede run . -json > run.json                     # then plot it:
//	go -C bench/stampede/plot run . -dir out run.json
//
// Run with -h for every flag. docs/stampede.md explains the results.
package main
