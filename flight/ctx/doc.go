// Package ctx provides [Shared], a reference-counted context that several
// holders share: it keeps the values of one parent context, ignores that
// parent's cancellation and deadline, and is cancelled only when the last
// holder releases it or when someone cancels it explicitly, always with a
// cause that [context.Cause] reports.
//
// It is the context that [github.com/flightkit/flightkit/flight.Group.DoCtx]
// hands to a shared function: the function must keep running while any waiter
// still wants its result, must see the values (trace IDs, credentials) of the
// caller that started it, and must stop once nobody waits. The batch loader
// uses it the same way. Most programs never import this package directly.
//
// Callers almost always have a variable named ctx, so import the package
// under the alias flightctx:
//
//	import flightctx "github.com/flightkit/flightkit/flight/ctx"
//
//	s := flightctx.New(req.Context()) // one holder: the creator
//	s.Acquire()                        // a second holder, taken for the worker
//	go func() {
//		defer s.Release() // the worker releases its own reference
//		work(s)           // sees req's values, not req's cancellation
//	}()
//	s.Release() // the creator leaves; s lives on while work runs
//
// Every holder takes its reference before it starts sharing the context (here
// the creator acquires for the worker before the go statement) and releases
// it when it no longer needs the context; s is cancelled when the last one
// does.
//
// Behaviour at a glance:
//
//	event                          effect on the Shared context
//	-----------------------------  ------------------------------------------
//	parent cancelled               nothing (values are kept, not cancellation)
//	Acquire while live             one more holder; returns true
//	Release, holders left          nothing
//	Release by the last holder     cancelled, cause ErrAbandoned
//	Cancel(cause)                  cancelled at once, cause as given
//	Acquire after cancellation     returns false; the context is not revived
//	WithTimeout deadline passes    cancelled, cause context.DeadlineExceeded
//
// Do not use Shared as a general-purpose context: if one owner decides when
// work stops, [context.WithCancelCause] is simpler.
//
// A Shared costs no goroutine: [context.Cause], [context.AfterFunc] and child
// contexts work on it as on a standard context, and a child attaches to it
// without a goroutine of its own. Its Done channel is made on first use, and
// its deadline timer, with [WithTimeout], is stopped when it is cancelled.
//
// Errors and panic messages of this package start with "flightctx:", the
// name every import gives it. [ErrAbandoned] is the same value as
// flight.ErrAbandoned.
package ctx
