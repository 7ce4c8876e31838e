// Package flight suppresses duplicate work: when many goroutines ask for the
// same key at once, one call runs and every caller shares its result. It is a
// typed, drop-in replacement for golang.org/x/sync/singleflight that also
// lets each caller wait with its own context.
//
// A cache stampede is the classic use: a hot key expires and thousands of
// requests miss at once. With a [Group] one of them (the leader) loads the
// value and the others (followers) wait for it:
//
//	// A call stuck in the database must not hold the key forever: every
//	// later caller of the key would join it (see WithCallTimeout).
//	var users = flight.New[string, User](flight.WithCallTimeout(2 * time.Second))
//
//	u, err, _ := users.DoCtx(ctx, id, func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, id) // ctx: the leader's values, no single caller's cancel
//	})
//
// The zero Group is ready too (var users flight.Group[string, User]), with
// no call timeout, exactly like x/sync's. Migrating from x/sync is a type
// change: Group becomes Group[string, any] (or a concrete V) and Result
// becomes Result[V]; Do, DoChan and Forget behave the same, panics and
// runtime.Goexit included (see below).
//
// # Behaviour
//
//	situation                        Do / DoCtx waiter             DoChan / DoChanCtx waiter
//	-------------------------------  ----------------------------  -------------------------
//	fn returns v, err                v, err, shared                Result{v, err, shared}
//	fn panics                        panics with *PanicError       process crashes (x/sync)
//	fn calls runtime.Goexit          Do callers exit (x/sync);     Result{Err: ErrGoexit}
//	                                 DoCtx callers get ErrGoexit
//	waiter's ctx ends (DoCtx)        ctx.Err(), detaches           Result{Err: ctx.Err()}
//	every waiter detached            fn's ctx cancelled with cause ErrAbandoned;
//	                                 key released, the next caller starts afresh
//	Forget(key) during a run         waiters keep waiting; the next caller starts afresh
//	fn stuck, no WithCallTimeout     every caller of the key joins it, forever
//	nil fn / nil ctx                 panics at once: "flight: nil fn" / "flight: nil Context"
//	key that cannot be hashed        panics at once: "flight: unhashable key ..."
//	key != key (NaN)                 fn runs for that caller alone, unshared
//
// shared is true for every receiver when more than one caller received the
// outcome. Do and DoChan callers never detach, so a call that has one is never
// abandoned. A panic that no waiter is left to receive goes to the
// [WithPanicHandler] handler, or crashes the process without one; it is never
// swallowed. [Group.OldestCall] shows how long the oldest call has run, and
// [WithHedge] starts a backup execution of a call that is slow to answer.
//
// # When not to use it
//
// Do not use a Group as a cache: by default the result is forgotten as soon
// as it is delivered (see the forget package for short grace windows). Do not
// use it for work whose result depends on who asks (per-user authorisation
// checks under a shared key): every waiter receives the starter's result,
// computed with the starter's context values. And if your keys arrive in
// bulk, the batch package fetches many of them in one call.
package flight
