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
