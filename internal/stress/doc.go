// Package stress holds flightkit's fault-injected stress test and nothing
// else: its only code is in test files.
//
// TestStress drives a flight.Group and a batch.Loader from many goroutines
// over 1 to 10,000 keys with seeded random operations (Do, DoChan, DoCtx with
// cancellations and deadlines, Forget, ForgetUnshared, Cancel, Load,
// LoadMany) whose functions return values or errors, panic, call
// runtime.Goexit or wait for their context, and checks that every caller gets
// exactly one answer of the right kind, that no key runs twice at once unless
// the contract allows it, and that the group, the goroutines and the heap all
// return to rest. See docs/reliability.md for the numbers.
//
// The CI version runs 50,000 operations (10,000 with -short). The full run:
//
//	FLIGHT_STRESS_OPS=1000000 go test ./internal/stress -run TestStress -v -timeout 1h
//
// FLIGHT_STRESS_SEED picks another seed (default 1).
package stress
