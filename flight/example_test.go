package flight_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// ExampleNew shows that options need no type arguments, and that the zero
// Group works just like New with no options.
func ExampleNew() {
	users := flight.New[string, string](flight.WithLinger(100 * time.Millisecond))
	v, err, shared := users.Do("user:1", func() (string, error) { return "alice", nil })
	fmt.Println(v, err, shared)

	var plain flight.Group[string, string] // ready to use
	v, err, shared = plain.Do("user:1", func() (string, error) { return "alice", nil })
	fmt.Println(v, err, shared)
	// Output:
	// alice <nil> false
	// alice <nil> false
}

// ExampleGroup_Do shows callers that ask for a key while it loads sharing
// the one execution instead of loading it again.
func ExampleGroup_Do() {
	var g flight.Group[string, string]
	loads := 0
	load := func() (string, error) {
		loads++
		return "alice", nil
	}

	var others []<-chan flight.Result[string]
	v, err, shared := g.Do("user:1", func() (string, error) {
		// Two more callers arrive while the first one is loading.
		others = append(others, g.DoChan("user:1", load), g.DoChan("user:1", load))
		return load()
	})
	fmt.Println("first:", v, err, shared)
	for _, ch := range others {
		r := <-ch
		fmt.Println("other:", r.Val, r.Err, r.Shared)
	}
	fmt.Println("loads:", loads)
	// Output:
	// first: alice <nil> true
	// other: alice <nil> true
	// other: alice <nil> true
	// loads: 1
}

// ExampleGroup_DoChan shows waiting for a result on a channel, for example
// next to other channels in a select.
func ExampleGroup_DoChan() {
	var g flight.Group[string, int]
	ch := g.DoChan("answer", func() (int, error) { return 42, nil })
	r := <-ch // exactly one Result arrives; the channel is never closed
	fmt.Println(r.Val, r.Err, r.Shared)
	// Output: 42 <nil> false
}

// ExampleGroup_DoCtx shows a caller giving up with its own context while the
// call goes on for the caller that still waits.
func ExampleGroup_DoCtx() {
	var g flight.Group[string, string]
	started, release := make(chan struct{}), make(chan struct{})
	report := func(ctx context.Context) (string, error) {
		close(started)
		<-release
		return "report ready", ctx.Err() // not cancelled: someone still waits
	}

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err, _ := g.DoCtx(ctx, "report", report)
		first <- err
	}()
	<-started
	second := g.DoChan("report", func() (string, error) { return "not called", nil })

	cancel()
	fmt.Println("first caller:", <-first)
	close(release)
	r := <-second
	fmt.Println("second caller:", r.Val, r.Err)
	// Output:
	// first caller: context canceled
	// second caller: report ready <nil>
}

// ExampleGroup_Forget shows that after Forget a new caller starts a new
// execution, while the callers of the earlier one still receive its result.
func ExampleGroup_Forget() {
	var g flight.Group[string, string]
	started, release := make(chan struct{}), make(chan struct{})
	earlier := g.DoChan("config", func() (string, error) {
		close(started)
		<-release
		return "v1", nil
	})
	<-started

	g.Forget("config") // say the config just changed
	v, _, _ := g.Do("config", func() (string, error) { return "v2", nil })
	fmt.Println("after Forget:", v)

	close(release)
	fmt.Println("earlier caller:", (<-earlier).Val)
	// Output:
	// after Forget: v2
	// earlier caller: v1
}

// ExampleGroup_DoChanCtx shows the channel form of DoCtx: the call is
// registered when DoChanCtx returns, and the channel answers with ctx's
// error as soon as ctx ends.
func ExampleGroup_DoChanCtx() {
	var g flight.Group[string, string]
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := g.DoChanCtx(ctx, "profile", func(ctx context.Context) (string, error) {
		<-release
		return "profile", nil
	})
	fmt.Println("in flight:", g.InFlight()) // registered before DoChanCtx returned
	cancel()
	r := <-ch
	fmt.Println(r.Err)
	close(release)
	// Output:
	// in flight: 1
	// context canceled
}

// ExampleWithHedge shows a call whose first execution stalls: after the
// hedge delay a backup runs, its outcome reaches the caller, and the stalled
// execution's context is cancelled with ErrHedgeLost.
func ExampleWithHedge() {
	g := flight.New[string, string](flight.WithHedge(10 * time.Millisecond))
	var runs atomic.Int32
	lost := make(chan error, 1)
	query := func(ctx context.Context) (string, error) {
		if runs.Add(1) == 1 {
			<-ctx.Done() // the first query stalls until it is no longer needed
			lost <- context.Cause(ctx)
			return "", ctx.Err()
		}
		return "row", nil
	}
	v, err, _ := g.DoCtx(context.Background(), "q", query)
	fmt.Println(v, err)
	fmt.Println("the stalled query:", <-lost)
	// Output:
	// row <nil>
	// the stalled query: flight: the other execution of a hedged call finished first
}
