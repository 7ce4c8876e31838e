//go:build race

package batch_test

// raceEnabled is true when the tests run under the race detector, which
// allocates on its own.
const raceEnabled = true
