// Package bench compares flightkit with its peers (golang.org/x/sync,
// resenje.org/singleflight, tailscale.com/util/singleflight and, for batch
// loading, dataloadgen and graph-gophers/dataloader) through one benchmark
// harness. It is a separate module so that those peers never enter the core
// module's go.mod. See docs/performance.md for how to run it.
package bench
