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
	github.com/flightkit/flightkit v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.22.0
)
