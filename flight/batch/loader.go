package batch

import (
	"context"
	"sync"
)

// Loader loads values by key in batches: concurrent loads of different keys
// share one call of its fetch function, and loads of the same key share one
// key of one call. It keeps nothing once a fetch has answered its waiters
// (unless built with [WithForget]), so it is not a cache.
//
// Use [New]; the zero Loader has no fetch function and is not usable. A
// Loader is safe for concurrent use and must not be copied after first use.
type Loader[K comparable, V any] struct {
	fetch func(ctx context.Context, keys []K) (map[K]V, error)
	part  func(K) string // nil: one partition
	cfg   config         // read-only after New

	mu      sync.Mutex
	keys    map[K]slot[K, V]        // keys pending, in flight or retained
	open    *batch[K, V]            // the batch taking new keys, without partitions
	parts   map[string]*batch[K, V] // the batch taking new keys, per partition
	queue   []*batch[K, V]          // batches waiting for a fetch slot, oldest first
	running int                     // fetch slots taken: batches starting or running
	timers  int                     // window and retention timers pending
}

// New returns a Loader that fetches with fetch, configured by opts.
//
// fetch receives the keys of one batch, each once, and returns the values it
// found. A key missing from the map gets [ErrNotFound]; keys nobody asked for
// are ignored. An error fails every key of the batch, unless it is or wraps a
// [KeyErrors], which fails only the keys it lists. fetch may keep or reorder
// keys: the loader never reads the slice again. fetch's context carries the values of the context of the load that
// opened the batch, is cancelled with cause [flight.ErrAbandoned] when every
// waiter of every key in the batch has gone, is cancelled when fetch returns,
// and has no deadline unless the loader has [WithFetchTimeout]. fetch must
// not wait for a load of a key in its own batch, which would join the running
// fetch and wait for itself.
//
// New panics if fetch is nil or an option is invalid.
func New[K comparable, V any](fetch func(ctx context.Context, keys []K) (map[K]V, error), opts ...Option) *Loader[K, V] {
	if fetch == nil {
		panic("batch: nil fetch")
	}
	l := &Loader[K, V]{fetch: fetch, keys: make(map[K]slot[K, V])}
	for _, o := range opts {
		o.apply(&l.cfg)
	}
	l.part = partitionFunc[K](l.cfg.partition)
	return l
}

// Load returns the value for key, fetched in a batch with other keys, or the
// key's error: [ErrNotFound] when fetch did not return it, the key's own
// error from a [KeyErrors], or the error of its whole fetch. If key is
// already pending or being fetched, Load waits for that fetch instead of
// starting another.
//
// Load blocks until the outcome or the end of ctx. When ctx ends first, Load
// returns ctx.Err() at once and detaches; other callers' loads of key go on.
// If ctx is already done, Load returns ctx.Err() without loading anything.
// If fetch panics, Load panics with a *[flight.PanicError]; if fetch calls
// [runtime.Goexit], Load returns [flight.ErrGoexit]. Load panics if ctx is
// nil.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	var zero V
	if ctx == nil {
		panic("batch: nil Context")
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return zero, ctx.Err()
		default:
		}
	}
	var part string
	if l.part != nil {
		part = l.part(key)
	}
	l.mu.Lock()
	s := l.acquire(ctx, key, part, 1)
	l.mu.Unlock()

	select {
	case <-s.b.done:
	case <-done:
		if l.detach(s) {
			return zero, ctx.Err()
		}
	}
	if s.b.panic != nil {
		panic(s.b.panic)
	}
	e := s.entry()
	return e.val, e.err
}

// detach removes the waiter of s whose context ended, and reports true,
// unless the outcome was published meanwhile: then the outcome is the
// waiter's to take, and detach reports false.
func (l *Loader[K, V]) detach(s slot[K, V]) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.b.state == done {
		return false
	}
	l.leave(s)
	return true
}

// LoadMany loads keys as [Loader.Load] does, all at once, and returns one
// [Result] per key, in the order of keys. Keys that are not already pending
// or being fetched go to one batch (more if they exceed [WithMaxBatch] or span
// partitions); a key that appears more than once is fetched once.
//
// LoadMany blocks until every key has its outcome or ctx ends. When ctx ends
// first, the keys still waiting get ctx.Err() and detach, while those already
// fetched keep their values. If ctx is already done, every key gets
// ctx.Err() and nothing is loaded. If the fetch of any of the keys panics,
// LoadMany detaches from the others and panics with a *[flight.PanicError].
// LoadMany panics if ctx is nil.
func (l *Loader[K, V]) LoadMany(ctx context.Context, keys []K) Results[K, V] {
	if ctx == nil {
		panic("batch: nil Context")
	}
	if len(keys) == 0 {
		return nil
	}
	res := make(Results[K, V], len(keys))
	for i, k := range keys {
		res[i].Key = k
	}
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return fail(res, ctx.Err())
		default:
		}
	}
	var parts []string
	if l.part != nil {
		parts = make([]string, len(keys))
		for i, k := range keys {
			parts[i] = l.part(k)
		}
	}
	slots := make([]slot[K, V], len(keys))
	l.mu.Lock()
	for i, k := range keys {
		var part string
		if parts != nil {
			part = parts[i]
		}
		slots[i] = l.acquire(ctx, k, part, len(keys)-i)
	}
	l.mu.Unlock()
	return l.waitMany(ctx, slots, res)
}

// waitMany waits for the outcome of every slot, filling res.
func (l *Loader[K, V]) waitMany(ctx context.Context, slots []slot[K, V], res Results[K, V]) Results[K, V] {
	done := ctx.Done()
	var prev *batch[K, V] // done; keys of one batch are usually adjacent
	for i, s := range slots {
		if s.b != prev {
			select {
			case <-s.b.done:
				prev = s.b
			case <-done:
				l.detachMany(slots[i:], res[i:], ctx.Err())
				return res
			}
		}
		if s.b.panic != nil {
			l.detachMany(slots[i+1:], nil, nil)
			panic(s.b.panic)
		}
		e := s.entry()
		res[i].Val, res[i].Err = e.val, e.err
	}
	return res
}

// detachMany removes the waiters of the slots whose outcome is not yet
// published and gives their results err; the others get their outcome. With
// nil res, it only detaches. A published panic is raised after detaching.
func (l *Loader[K, V]) detachMany(slots []slot[K, V], res Results[K, V], err error) {
	var pe error
	l.mu.Lock()
	for i, s := range slots {
		switch {
		case s.b.state != done:
			l.leave(s)
			if res != nil {
				res[i].Err = err
			}
		case s.b.panic != nil:
			if pe == nil {
				pe = s.b.panic
			}
		case res != nil:
			e := s.entry()
			res[i].Val, res[i].Err = e.val, e.err
		}
	}
	l.mu.Unlock()
	if pe != nil && res != nil {
		panic(pe)
	}
}

func fail[K comparable, V any](res Results[K, V], err error) Results[K, V] {
	for i := range res {
		res[i].Err = err
	}
	return res
}

// Forget makes the next load of key fetch it afresh. It evicts a value kept
// by [WithForget] at once, and releases a key that is being fetched: its
// current waiters still receive that fetch's outcome, while later loads start
// a new fetch. A key still pending (its fetch has not started) is not
// affected, since its fetch will read current data anyway.
func (l *Loader[K, V]) Forget(key K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.keys[key]
	if !ok {
		return
	}
	switch s.b.state {
	case done:
		l.unkeep(s)
	case running:
		l.unmap(s.entry())
	}
}
