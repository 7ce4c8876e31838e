package batch

import (
	"fmt"
	"reflect"
	"time"

	"github.com/flightkit/flightkit/flight"
	flightctx "github.com/flightkit/flightkit/flight/ctx"
	"github.com/flightkit/flightkit/flight/forget"
)

// Option configures a [Loader] built by [New]. Options are not generic, so
// New(fetch, WithMaxBatch(100)) needs no type arguments on the option.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the read-only configuration of a Loader.
type config struct {
	window    time.Duration
	maxBatch  int // 0: unlimited
	maxFetch  int // 0: unlimited
	partition any // func(K) string or func(any) string; checked by New
	forget    forget.Policy
	onPanic   func(*flight.PanicError)
	ctxOpts   []flightctx.Option
}

// WithWindow sets how long a batch collects keys before its fetch starts.
// The window opens with the batch's first key; keys that arrive within it
// are fetched together. With no window, the default, a batch is dispatched
// at once: the missing keys of one LoadMany are one fetch, and loads that
// arrive before that fetch has actually started join it. The fetch's
// goroutine yields once before it takes its keys, so that loads already
// runnable get in; under [WithMaxConcurrency], a batch collects for as long
// as it waits for a slot. WithWindow panics if d is negative.
func WithWindow(d time.Duration) Option {
	if d < 0 {
		panic("batch: negative window")
	}
	return optionFunc(func(c *config) { c.window = d })
}

// WithMaxBatch limits a fetch to n keys. A batch that reaches n keys is
// dispatched at once, without waiting for the rest of its window, and later
// keys go to a new batch. Zero, the default, means no limit. WithMaxBatch
// panics if n is negative.
func WithMaxBatch(n int) Option {
	if n < 0 {
		panic("batch: negative MaxBatch")
	}
	return optionFunc(func(c *config) { c.maxBatch = n })
}

// WithMaxConcurrency limits the fetches running at once to n. A batch ready
// beyond the limit waits in a queue, first in first out, and keeps collecting
// keys (up to [WithMaxBatch]) until a running fetch returns and hands it its
// slot: a waiting batch costs no goroutine, and a key whose callers all left
// gives its place to the next key, so callers coming and going never grow it
// beyond the most keys it held at once. Zero, the default, means no limit.
// WithMaxConcurrency panics if n is negative.
func WithMaxConcurrency(n int) Option {
	if n < 0 {
		panic("batch: negative MaxConcurrency")
	}
	return optionFunc(func(c *config) { c.maxFetch = n })
}

// WithPartition keeps keys that must not share a fetch apart: two keys are
// only ever fetched together when f returns the same string for both (a
// tenant, a shard, a table). Each partition has its own batches, windows and
// MaxBatch; the concurrency limit is shared. f must be cheap and must always
// return the same partition for the same key; it runs on the caller's
// goroutine, outside the loader's lock.
//
// K is inferred from f, so no type arguments are needed. f's key type must be
// the loader's K, or any (which costs an allocation per key for keys that do
// not fit in an interface word); [New] panics otherwise.
func WithPartition[K comparable](f func(key K) string) Option {
	if f == nil {
		panic("batch: nil partition function")
	}
	return optionFunc(func(c *config) { c.partition = f })
}

// WithForget sets how long a fetched key's outcome stays shareable: a load
// of the key within the window the policy returns receives the same outcome
// without a fetch. The policy is asked once per key with the key's error (nil
// for a value), so forget.Split(d, 0) keeps values and retries failures.
// Whatever it says, context errors, [flight.ErrAbandoned], a panic, a Goexit
// and the outcome of a key nobody waited for any more are never kept. Without
// it, or with a nil policy, nothing outlives its fetch. A kept outcome holds
// its own value or error and nothing else of its fetch; the outcomes one
// fetch keeps for one window share a timer, which ends with the window or
// once [Loader.Forget] has evicted them all.
func WithForget(p forget.Policy) Option {
	return optionFunc(func(c *config) { c.forget = p })
}

// WithFetchTimeout gives fetch's context a deadline d after the fetch starts.
// Without it fetch's context has no deadline: waiters bring their own and
// leave when they pass. It panics if d is negative; zero means no timeout.
func WithFetchTimeout(d time.Duration) Option {
	if d < 0 {
		panic("batch: negative fetch timeout")
	}
	return optionFunc(func(c *config) {
		if d > 0 {
			c.ctxOpts = append(c.ctxOpts, flightctx.WithTimeout(d))
		}
	})
}

// WithPanicHandler sets the function that receives a panic from fetch when
// no waiter is left to receive it (every waiter of the batch had detached).
// h runs on the goroutine that ran fetch. Without a handler such a panic
// crashes the process: a panic is never swallowed. A panic that some waiter
// can receive never reaches h.
func WithPanicHandler(h func(*flight.PanicError)) Option {
	return optionFunc(func(c *config) { c.onPanic = h })
}

// partitionFunc returns the partition function for keys of type K, or nil.
func partitionFunc[K comparable](p any) func(K) string {
	switch f := p.(type) {
	case nil:
		return nil
	case func(K) string:
		return f
	case func(any) string:
		return func(k K) string { return f(k) }
	default:
		panic(fmt.Sprintf("batch: WithPartition function is %T, but the loader's keys are %v",
			p, reflect.TypeFor[K]()))
	}
}
