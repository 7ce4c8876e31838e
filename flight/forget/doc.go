// Package forget decides how long a finished call's result stays shareable
// in a [github.com/flightkit/flightkit/flight.Group].
//
// x/sync forgets a key the instant its result is delivered, so in a stampede
// the callers that arrive a millisecond later start a second execution. A
// [Policy] keeps the result for a window instead: callers arriving within it
// receive the same result with shared == true and fn is not called.
//
//	g := flight.New[string, User](flight.WithForget(forget.Split(time.Second, 0)))
//
// Policies:
//
//	policy                 values kept  errors kept  use it when
//	---------------------  -----------  -----------  ------------------------------------------
//	Now()                  no           no           the default; exactly x/sync
//	After(d)               d            d            a burst should see one result, even a failure
//	Split(v, e)            v            e            values are cheap to reuse, errors must retry
//	Func(f)                f(err)       f(err)       the window depends on the error's kind
//
// Whatever a policy says, the group never keeps context errors
// ([context.Canceled], [context.DeadlineExceeded], anything matching them
// with [errors.Is]), flight.ErrAbandoned, flight.ErrGoexit or a panic: a
// caller must never receive another caller's cancellation. Retained results
// hold no goroutine; their memory is released when the window ends, whether
// or not the group is called again. Group.Forget evicts a retained result at
// once.
//
// A forget policy is not a cache: windows are meant to be short (the length
// of a burst), and a retained result is never refreshed. When a value may be
// served for minutes, use a cache: package memo
// (github.com/flightkit/flightkit/flight/memo) keeps outcomes for a policy's
// windows and refreshes them early, in the background.
package forget
