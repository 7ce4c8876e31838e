package ctx_test

import (
	"context"
	"errors"
	"fmt"

	flightctx "github.com/flightkit/flightkit/flight/ctx"
)

type requestID struct{}

// ExampleShared shows a context that outlives the request that created it,
// keeps its values, and ends only when its last holder releases it.
func ExampleShared() {
	req, cancelReq := context.WithCancel(context.WithValue(context.Background(), requestID{}, "req-1"))
	s := flightctx.New(req) // one holder: the creator
	s.Acquire()             // a second holder joins

	cancelReq() // the request ends: s does not
	s.Release() // the creator leaves
	fmt.Println(s.Err(), s.Value(requestID{}))

	s.Release() // the last holder leaves
	fmt.Println(s.Err(), errors.Is(context.Cause(s), flightctx.ErrAbandoned))
	fmt.Println("acquire after:", s.Acquire())
	// Output:
	// <nil> req-1
	// context canceled true
	// acquire after: false
}

// Example_worker shows who holds a reference: the creator takes one for the
// worker before starting it, and the worker releases it when its work is
// done, so the context outlives the creator but not the work.
func Example_worker() {
	s := flightctx.New(context.Background()) // one holder: the creator
	s.Acquire()                              // a second one, for the worker
	creatorLeft, workDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(workDone)
		defer s.Release() // the worker's reference
		<-creatorLeft
		fmt.Println("worker, after the creator left:", s.Err())
	}()
	s.Release() // the creator leaves
	close(creatorLeft)
	<-workDone
	fmt.Println("after the work:", context.Cause(s))
	// Output:
	// worker, after the creator left: <nil>
	// after the work: flightctx: abandoned by every holder
}
