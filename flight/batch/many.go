package batch

import (
	"context"
	"errors"
	"slices"

	"github.com/flightkit/flightkit/flight"
)

// LoadMany loads keys as [Loader.Load] does, all at once, and returns one
// [Result] per key, in the order of keys. Keys that are not already pending
// or being fetched go to one batch (more if they exceed [WithMaxBatch] or span
// partitions); a key that appears more than once is fetched once.
//
// LoadMany blocks until every key has its outcome or ctx ends. When ctx ends
// first, the keys still waiting get ctx.Err() and detach, while those already
// fetched keep their values. If ctx is already done, every key gets
// ctx.Err() and nothing is loaded. If the fetch of any of the keys panics,
// LoadMany detaches from the others and panics with its *[flight.PanicError];
// when several of its fetches had panicked by then, the PanicError's Value
// joins theirs (see [errors.Join]), and a fetch that panics after LoadMany
// left it reaches its other waiters or the [WithPanicHandler] handler.
// LoadMany panics if ctx is nil, and, before loading anything, if a key
// cannot be hashed.
func (l *Loader[K, V]) LoadMany(ctx context.Context, keys []K) Results[K, V] {
	l.enter(ctx)
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
	p := l.plan(keys)
	slots := make([]slot[K, V], len(keys))
	l.mu.Lock()
	for i, k := range keys {
		alone := p.alone != nil && p.alone[i]
		if len(l.kept) > 0 && !alone {
			if k, ok := l.retained(k); ok {
				res[i].Val, res[i].Err = k.val, k.err
				continue
			}
		}
		part, want := p.next(i)
		slots[i] = l.acquire(ctx, k, part, want, alone)
	}
	l.mu.Unlock()
	return l.waitMany(ctx, slots, res)
}

// plan is what LoadMany works out before it takes the lock: each key's
// partition (the caller's function) and whether it is equal to itself
// (which panics for an unhashable key), and how many keys each partition
// still has to add, so that each partition's batch grows once, to the size
// of its own keys (issue 10, item 4).
type plan struct {
	n     int            // keys
	parts []string       // nil without partitions
	left  map[string]int // keys still to add, per partition
	alone []bool         // nil unless some key is not equal to itself
}

func (l *Loader[K, V]) plan(keys []K) plan {
	p := plan{n: len(keys)}
	if l.check {
		for i, k := range keys {
			if l.alone(k) {
				if p.alone == nil {
					p.alone = make([]bool, len(keys))
				}
				p.alone[i] = true
			}
		}
	}
	if l.part != nil {
		p.parts = make([]string, len(keys))
		p.left = make(map[string]int)
		for i, k := range keys {
			p.parts[i] = l.part(k)
			p.left[p.parts[i]]++
		}
	}
	return p
}

// next returns key i's partition and how many keys of it are left to add,
// counting key i.
func (p *plan) next(i int) (part string, want int) {
	if p.parts == nil {
		return "", p.n - i
	}
	part = p.parts[i]
	want = p.left[part]
	p.left[part] = want - 1
	return part, want
}

// waitMany waits for the outcome of every slot, filling res. A slot with no
// batch had its outcome retained, already in res.
func (l *Loader[K, V]) waitMany(ctx context.Context, slots []slot[K, V], res Results[K, V]) Results[K, V] {
	done := ctx.Done()
	var prev *batch[K, V] // done; keys of one batch are usually adjacent
	for i, s := range slots {
		if s.b == nil {
			continue
		}
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
			l.detachMany(slots[i:], nil, nil)
		}
		res[i].Val, res[i].Err = s.outcome()
	}
	return res
}

// detachMany removes the waiters of the slots whose outcome is not yet
// published, giving their results err, while the others get their outcome.
// With nil res, it only detaches. Then, if any of the slots' fetches
// panicked, it panics: every panic published to this caller reaches it
// (issue 10, item 7).
func (l *Loader[K, V]) detachMany(slots []slot[K, V], res Results[K, V], err error) {
	var (
		pes []*flight.PanicError
		rel []*batch[K, V] // abandoned: their contexts are released unlocked
	)
	l.mu.Lock()
	for i, s := range slots {
		switch {
		case s.b == nil:
		case s.b.state != done:
			if b := l.leave(s); b != nil {
				rel = append(rel, b)
			}
			if res != nil {
				res[i].Err = err
			}
		case s.b.panic != nil:
			if !slices.Contains(pes, s.b.panic) {
				pes = append(pes, s.b.panic)
			}
		case res != nil:
			res[i].Val, res[i].Err = s.outcome()
		}
	}
	l.mu.Unlock()
	for _, b := range rel {
		l.release(b)
	}
	if len(pes) > 0 {
		panic(joinPanics(pes))
	}
}

// joinPanics returns the one panic of pes, or a PanicError whose Value joins
// them all, so that errors.Is and errors.As find each.
func joinPanics(pes []*flight.PanicError) *flight.PanicError {
	if len(pes) == 1 {
		return pes[0]
	}
	errs := make([]error, len(pes))
	for i, pe := range pes {
		errs[i] = pe
	}
	return &flight.PanicError{Value: errors.Join(errs...)}
}

func fail[K comparable, V any](res Results[K, V], err error) Results[K, V] {
	for i := range res {
		res[i].Err = err
	}
	return res
}
