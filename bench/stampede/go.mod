module github.com/flightkit/flightkit/bench/stampede

// The simulator runs on the core's minimum Go: every requirement here, and
// every requirement of theirs, must say go 1.25 or lower (CI builds it with
// go1.25.0 and GOTOOLCHAIN=local). golang.org/x/sync v0.22.0 is the last
// release at go 1.25; its singleflight is the same as v0.25.0's, which the
// benchmarks in bench/ use.
go 1.25.0

// The modules of this repository, at their working-tree versions.
replace (
	github.com/flightkit/flightkit => ../..
	github.com/flightkit/flightkit/flight/fleet => ../../flight/fleet
)

require (
	github.com/alicebob/miniredis/v2 v2.40.0
	github.com/flightkit/flightkit v0.0.0-00010101000000-000000000000
	github.com/flightkit/flightkit/flight/fleet v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.22.0
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.22.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
