package batch

import (
	"context"
	"reflect"
	"sync"
	"unsafe"

	"github.com/flightkit/flightkit/flight/internal/keys"
)

// Loader loads values by key in batches: concurrent loads of different keys
// share one call of its fetch function, and loads of the same key share one
// key of one call. It keeps nothing once a fetch has answered its waiters
// (unless built with [WithForget]), so it is not a cache.
//
// Use [New]: the zero Loader has no fetch function, and each of its methods
// panics with a message that says so. A Loader is safe for concurrent use and
// must not be copied after first use.
type Loader[K comparable, V any] struct {
	fetch func(ctx context.Context, keys []K) (map[K]V, error)
	part  func(K) string // nil: one partition
	check bool           // K can hold NaN or an unhashable value: check each key (see alone)
	cfg   config         // read-only after New

	// maxHint is the most entries a batch reserves at once from the size
	// of the one before: maxHintBytes of them. Read-only after New.
	maxHint int

	mu      sync.Mutex
	keys    map[K]slot[K, V]        // keys pending or in flight
	kept    map[K]kept[K, V]        // outcomes the forget policy retains
	open    *batch[K, V]            // the batch taking new keys, without partitions
	parts   map[string]*batch[K, V] // the batch taking new keys, per partition
	queue   []*batch[K, V]          // batches waiting for a fetch slot, oldest first
	running int                     // fetch slots taken: batches starting or running
	timers  int                     // window and retention timers pending
	hint    int                     // keys of the last batch sealed, up to maxHint
}

// New returns a Loader that fetches with fetch, configured by opts.
//
// fetch receives the keys of one batch, each once, and returns the values it
// found. A key missing from the map gets [ErrNotFound]; keys nobody asked for
// are ignored. An error fails every key of the batch, unless it is or wraps a
// [KeyErrors], which fails only the keys it lists. fetch may keep or reorder
// keys: the loader never reads the slice again. fetch's context carries the
// values of the context of the load that opened the batch, is cancelled with cause
// [flight.ErrAbandoned] when every waiter of every key in the batch has gone,
// is cancelled when fetch returns, and has no deadline unless the loader has
// [WithFetchTimeout]. fetch must not wait for a load of a key in its own
// batch, which would join the running fetch and wait for itself.
//
// New panics if fetch is nil or an option is invalid.
func New[K comparable, V any](fetch func(ctx context.Context, keys []K) (map[K]V, error), opts ...Option) *Loader[K, V] {
	if fetch == nil {
		panic("batch: nil fetch")
	}
	l := &Loader[K, V]{fetch: fetch, keys: make(map[K]slot[K, V]), check: keys.Checked(reflect.TypeFor[K]())}
	for _, o := range opts {
		o.apply(&l.cfg)
	}
	l.part = partitionFunc[K](l.cfg.partition)
	l.maxHint = max(1, maxHintBytes/int(unsafe.Sizeof(entry[K, V]{})))
	return l
}

// enter checks what every load needs: a Loader made by New and a context.
func (l *Loader[K, V]) enter(ctx context.Context) {
	if l.fetch == nil {
		panic(errZero)
	}
	if ctx == nil {
		panic("batch: nil Context")
	}
}

const errZero = "batch: zero Loader; make one with New"

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
// nil, and if key cannot be hashed (an interface key holding a slice, say).
// A key that is not equal to itself (a NaN) is fetched for its caller alone,
// in a batch of its own, and gets [ErrNotFound] unless the fetch fails.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	l.enter(ctx)
	var zero V
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return zero, ctx.Err()
		default:
		}
	}
	alone := l.alone(key)
	var part string
	if l.part != nil {
		part = l.part(key)
	}
	l.mu.Lock()
	if len(l.kept) > 0 && !alone {
		if k, ok := l.retained(key); ok {
			l.mu.Unlock()
			return k.val, k.err
		}
	}
	s := l.acquire(ctx, key, part, 1, alone)
	ch := s.doneFor()
	l.mu.Unlock()

	if done == nil {
		<-ch // a context that never ends: a plain receive costs less
	} else {
		select {
		case <-ch:
		case <-done:
			if l.detach(s) {
				return zero, ctx.Err()
			}
		}
	}
	if s.b.panic != nil {
		panic(s.b.panic)
	}
	return s.outcome()
}

// detach removes the waiter of s whose context ended, and reports true,
// unless the outcome was published meanwhile: then the outcome is the
// waiter's to take, and detach reports false.
func (l *Loader[K, V]) detach(s slot[K, V]) bool {
	l.mu.Lock()
	if s.b.state == done {
		l.mu.Unlock()
		return false
	}
	b := l.leave(s)
	l.mu.Unlock()
	l.release(b)
	return true
}

// alone reports whether key is not equal to itself (a NaN): such a key is
// never found in a map again once stored, so it is fetched in a batch of its
// own, for its caller alone, and never stored. It panics in the caller, before
// the loader's lock is taken, when key cannot be hashed (issue 10, items 1
// and 2).
func (l *Loader[K, V]) alone(key K) bool {
	return l.check && !keys.SelfEqual(key, "batch")
}

// Forget makes the next load of key fetch it afresh. It evicts a value kept
// by [WithForget] at once, and releases a key that is being fetched: its
// current waiters still receive that fetch's outcome, while later loads start
// a new fetch. A key still pending (its fetch has not started) is not
// affected, since its fetch will read current data anyway. Forget panics if
// key cannot be hashed, as Load does.
func (l *Loader[K, V]) Forget(key K) {
	if l.fetch == nil {
		panic(errZero)
	}
	if l.alone(key) {
		return // never registered
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.kept[key]; ok {
		l.unkeep(key, k)
	}
	if s, ok := l.keys[key]; ok && s.b.state == running {
		l.unmap(s.b, s.entry())
	}
}
