// Package batch loads values by key in batches: many callers ask for one
// key each, and a single fetch answers a whole batch of them. It is the
// dataloader pattern (GraphQL resolvers asking for users one at a time)
// with flight's rules: each caller waits with its own context, a key is
// never fetched twice at once, and nothing is cached.
//
// Give [New] a function that fetches many keys at once; [Loader.Load] and
// [Loader.LoadMany] do the rest:
//
//	users := batch.New(func(ctx context.Context, ids []int) (map[int]User, error) {
//		return db.UsersByID(ctx, ids) // SELECT ... WHERE id = ANY($1)
//	}, batch.WithWindow(time.Millisecond), batch.WithMaxBatch(500))
//
//	u, err := users.Load(ctx, 42)            // batched with concurrent loads
//	rs := users.LoadMany(ctx, []int{1, 2, 2}) // one fetch of [1 2]
//	byID := maps.Collect(rs.Values())        // keys that loaded
//	if errors.Is(rs.Err(), batch.ErrNotFound) { ... }
//
// A key that fetch leaves out of its map gets [ErrNotFound]. To fail some keys
// without failing the batch, fetch returns a [KeyErrors] with their errors.
//
// # Behaviour
//
// How a Loader differs from a dataloader (graph-gophers/dataloader,
// vikstrous/dataloadgen) in the cases that hurt in production:
//
//	situation                     dataloader                        Loader
//	----------------------------  --------------------------------  ----------------------------------
//	fetch's context               the first caller's                the opener's values, no caller's
//	                                                                cancellation; cancelled only when
//	                                                                every waiter of the batch is gone
//	one caller's ctx is cancelled fails the whole batch, for every  that caller returns ctx.Err(); the
//	                              caller, and the failure is cached others get their values
//	a key's waiters all leave     still fetched                     dropped from the batch, if not
//	                                                                yet fetched
//	duplicate keys                deduplicated by the cache; with   always fetched once, with no cache
//	                              the cache off, fetched twice
//	a key already in flight       joined only through the cache     joined
//	errors                        cached with the values            not kept past the fetch
//	fetch panics                  an error for every key (cached    every waiter panics with
//	                              by dataloadgen, logged by         *flight.PanicError; every key
//	                              dataloader)                       of the batch released
//	fetch calls runtime.Goexit    every waiter hangs                waiters get flight.ErrGoexit
//	idle loader                   -                                 no goroutine, no timer
//
// Keys must be usable as map keys. A key that cannot be hashed (an
// interface key holding a slice, map or func) makes Load, LoadMany and Forget
// panic in their caller with a "batch: " message before the loader does
// anything, and the loader keeps working for every other key. A key that is
// not equal to itself (a float NaN, or a struct, array or interface holding
// one) could never be found again: it is fetched for its caller alone, in a
// batch of its own, is never joined, kept or registered, and gets
// [ErrNotFound] unless that fetch fails, since no map lookup can find it.
// The zero Loader has no fetch function: its methods panic; use [New].
//
// A panic that no waiter is left to receive goes to the [WithPanicHandler]
// handler, or crashes the process without one: it is never swallowed. When
// several fetches of one LoadMany panic, LoadMany panics with a
// *[flight.PanicError] that joins them. With [WithForget] a fetched value
// (or, if the policy says so, an error) stays shareable for a short window;
// context errors never do.
//
// Batching is set with options: [WithWindow] (how long a batch collects keys;
// none by default), [WithMaxBatch] (keys per fetch), [WithMaxConcurrency]
// (fetches at once; later batches queue without a goroutine and keep
// collecting) and [WithPartition] (keys that must never share a fetch).
// Without a window a batch still takes every load that arrives before its
// fetch has started, so under load the fetches grow by themselves, while a
// lone caller never waits for a timer.
//
// # When not to use it
//
// Do not use a Loader as a cache: a value is gone once its waiters have it
// (put a cache in front, or use [WithForget] for bursts). If callers load one
// key at a time and never concurrently, batching gains nothing and a window
// only adds latency: use [github.com/flightkit/flightkit/flight.Group]. And if
// a key's value depends on who asks (per-user permissions), keep those callers
// apart with [WithPartition] or separate loaders, since every waiter receives
// what the opener's context fetched.
package batch
