package forget_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/forget"
)

// A straggler arriving just after a load finished shares its value instead
// of loading again.
func ExampleAfter() {
	g := flight.New[string, string](flight.WithForget(forget.After(time.Minute)))
	load := func() (string, error) { fmt.Println("loading"); return "v1", nil }

	v, _, shared := g.Do("config", load)
	fmt.Println(v, shared)
	v, _, shared = g.Do("config", load) // within the window: no second load
	fmt.Println(v, shared)
	// Output:
	// loading
	// v1 false
	// v1 true
}

// Values are kept for a window, failures are retried by the next caller.
func ExampleSplit() {
	g := flight.New[string, string](flight.WithForget(forget.Split(time.Minute, 0)))
	fails := true
	load := func() (string, error) {
		fmt.Println("loading")
		if fails {
			fails = false
			return "", errors.New("timeout talking to the database")
		}
		return "v1", nil
	}

	_, err, _ := g.Do("config", load)
	fmt.Println("first:", err)
	v, _, _ := g.Do("config", load) // the error was not kept
	fmt.Println("second:", v)
	v, _, shared := g.Do("config", load) // the value is
	fmt.Println("third:", v, shared)
	// Output:
	// loading
	// first: timeout talking to the database
	// loading
	// second: v1
	// third: v1 true
}

var errNotFound = errors.New("not found")

// A policy decided by the outcome: remember "not found" briefly (negative
// caching), values longer, and forget any other error at once.
func ExampleFunc() {
	p := forget.Func(func(err error) time.Duration {
		switch {
		case err == nil:
			return time.Minute
		case errors.Is(err, errNotFound):
			return time.Second
		default:
			return 0
		}
	})
	fmt.Println(p.Retain(nil), p.Retain(errNotFound), p.Retain(errors.New("i/o")))
	// Output: 1m0s 1s 0s
}

// The default policy forgets at once, exactly like x/sync.
func ExampleNow() {
	g := flight.New[string, int](flight.WithForget(forget.Now()))
	n := 0
	load := func() (int, error) { n++; return n, nil }
	a, _, _ := g.Do("k", load)
	b, _, _ := g.Do("k", load)
	fmt.Println(a, b)
	// Output: 1 2
}
