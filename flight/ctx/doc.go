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
//	s := flightctx.New(req.Context())  // one holder: the creator
//	if s.Acquire() {                     // a second holder joins
//		defer s.Release()
//	}
//	go work(s)                           // work sees req's values, not its cancel
//	s.Release()                          // the creator leaves; s lives on
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
// Shared builds its underlying [context.WithCancelCause] lazily, on the first
// call to one of its [context.Context] methods, so a holder that never looks
// at the context pays only for the counter.
package ctx
