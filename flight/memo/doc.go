// Package memo keeps each key's value in memory for a window and refreshes
// it before the window ends, in the background, so that a hot key never
// expires under its callers: the early refresh of Vattani, Chierichetti and
// Lowenstein ("Optimal Probabilistic Cache Stampede Prevention", VLDB
// 2015), known as XFetch, with stale-if-error (RFC 5861) on top.
//
// flight.Group shares a call's outcome with the callers that arrive while
// it runs, and a forget policy keeps it for a short window; a forget
// window is not a cache: nothing refreshes it, and when it ends the next
// caller waits for fn again. A Cache is the cache: it keeps the outcome for
// its window and refreshes it early, while every caller keeps receiving it.
//
//	users := memo.New[string, User](forget.Split(time.Minute, 0), // values a minute, errors not at all
//		memo.WithStaleIfError(10*time.Minute))
//	defer users.Close()
//
//	u, err, shared := users.Do(ctx, id, func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, id) // once per window, in the background near its end
//	})
//
// # Behaviour
//
//	situation                          the caller
//	---------------------------------  -------------------------------------------------------
//	no value kept                      fn runs, coalesced with the other callers (flight.Group)
//	within the window                  the kept outcome, shared; fn not called
//	near the window's end              the same; the call may start a refresh in the background
//	                                   (probability exp(-left/(delta*beta)), one per key at most)
//	a refresh fails                    the kept value, until its window ends
//	after the window, a refresh runs   the expired value at once, Stale
//	after the window                   fn runs again, coalesced
//	  ... and fails, WithStaleIfError  the expired value, Stale, instead of the error
//	the caller's ctx ends              ctx.Err(), at once; the call goes on for the others
//	fn panics                          as flight.Group.DoCtx (a refresh: WithPanicHandler, or a crash)
//
// A window comes from a forget.Policy, the same type as flight.WithForget
// takes, so values and errors can be kept for different times; context
// errors, flight.ErrAbandoned, panics and Goexit are never kept. delta is
// how long fn took to compute the kept outcome, and beta is
// [WithEarlyRefresh] (default 1). A refresh runs fn with a context of its
// own: the values of the context of the call that started it, none of its
// cancellation, and the deadline of [WithCallTimeout]; [Cache.Close]
// cancels running refreshes and waits for them. [Cache.DoResult] also
// returns the outcome's age and whether it is stale, for HTTP's Age and
// Warning headers.
//
// Kept outcomes cost no goroutine: a timer drops each at the end of its
// window (plus the stale-if-error window), whether or not the cache is
// called again. Nothing bounds the number of keys; each is dropped after
// its window.
//
// Keys must be usable as map keys. A key that cannot be hashed (an
// interface key holding a slice, map or func) makes Do and Forget panic in
// their caller with a "memo: " message, and every other key keeps working.
// A key that is not equal to itself (a float NaN) runs fn for its caller
// alone, as with flight.Group, and is never kept.
//
// # When not to use it
//
// For a burst of identical calls, flight.Group (with a short forget window)
// is enough: it keeps nothing. For values that must be bounded in number
// (millions of keys, limited memory), use a cache with an eviction policy
// in front of a flight.Group. Across a fleet of processes, the fleet
// package (module github.com/flightkit/flightkit/flight/fleet) keeps the
// outcome in Redis and refreshes it once for the whole fleet.
package memo
