// Package callctx implements the context that a shared call hands to its
// function: the values of one parent, none of its cancellation, an optional
// deadline, and a cancellation with a cause that the owner decides.
//
// It is a context.Context of its own rather than a context.WithCancelCause
// over context.WithoutCancel, because that pair costs four allocations the
// first time anyone looks at Done, and the group needs the Done channel at
// once (its waiters wait on it). Ctx keeps everything the standard library
// offers its own contexts:
//
//   - context.Cause reports the cause: Cause asks Value for the context
//     package's private cancelCtxKey, and Ctx answers, once cancelled, with a
//     cancelled standard context that carries the same cause.
//   - Child contexts and context.AfterFunc attach without a goroutine: the
//     standard library uses the AfterFunc method of a parent it does not know.
//
// Cancellation has two steps, so that an owner can decide it under its own
// lock and do the work (closing Done, cancelling children, which may be many)
// after unlocking: Mark records the cause, Fire makes it visible. Err and Done
// change only at Fire, as the context contract requires.
package callctx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAbandoned is the cause of a context cancelled because nobody wants its
// work any more. flight/ctx and flight export it.
var ErrAbandoned = errors.New("flightctx: abandoned by every holder")

// Kind is why a Ctx was cancelled.
type Kind uint32

// The kinds of cancellation. Every kind but Deadline makes Err report
// context.Canceled.
const (
	Live      Kind = iota // not cancelled
	Finished              // the work returned; cause context.Canceled
	Canceled              // cancelled without a cause; cause context.Canceled
	Deadline              // the deadline passed; cause context.DeadlineExceeded
	Abandoned             // cause ErrAbandoned
	Cause                 // the cause given to Mark
)

// The bits of Ctx.state besides the kind.
const (
	kindMask    = 7
	doneMade    = 1 << 3 // done is set: Done reads it without the lock
	fired       = 1 << 4 // the cancellation is visible: Err, Done, children
	hasDeadline = 1 << 5 // slow.deadline is set, fixed at Init
)

// Ctx is the context. Init prepares a zero Ctx; it must not be copied after.
type Ctx struct {
	parent context.Context // values only; never watched
	mu     sync.Mutex
	state  atomic.Uint32 // kind and bits; written under mu
	done   chan struct{} // made on demand under mu, published by doneMade
	slow   *slow         // guarded by mu, except deadline; made on demand
}

// slow holds what most contexts never need.
type slow struct {
	deadline time.Time   // set at Init, read without the lock
	timer    *time.Timer // cancels at the deadline; stopped at Fire
	cause    error       // the cause of a Cause kind
	causeCtx any         // a cancelled *context.cancelCtx with cause, for context.Cause
	funcs    *afterFunc  // registered by AfterFunc, a doubly linked list
}

// afterFunc is a function registered with AfterFunc. A list rather than a
// map: registering and stopping (every child context does both) cost a few
// pointer writes, with no hashing.
type afterFunc struct {
	f          func()
	c          *Ctx
	prev, next *afterFunc
}

// stop unregisters a, reporting whether it did so before a ran.
func (a *afterFunc) stop() bool {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load()&fired != 0 || a.f == nil {
		return false
	}
	a.f = nil
	if a.prev != nil {
		a.prev.next = a.next
	} else {
		c.slow.funcs = a.next
	}
	if a.next != nil {
		a.next.prev = a.prev
	}
	a.prev, a.next = nil, nil
	return true
}

// Init prepares c with parent's values and, when timeout is positive, a
// deadline timeout from now. With done, the Done channel is made at once (c is
// not shared yet, so no lock is needed). It panics if parent is nil.
func (c *Ctx) Init(parent context.Context, timeout time.Duration, done bool) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	c.init(parent, deadline, done)
}

// InitLike prepares c with the values and the deadline of src.
func (c *Ctx) InitLike(src *Ctx) {
	deadline, _ := src.Deadline()
	c.init(src.parent, deadline, false)
}

func (c *Ctx) init(parent context.Context, deadline time.Time, done bool) {
	if parent == nil {
		panic("flightctx: nil parent Context")
	}
	c.parent = parent
	var st uint32
	if done {
		c.done = make(chan struct{})
		st |= doneMade
	}
	if !deadline.IsZero() {
		c.slow = &slow{deadline: deadline}
		st |= hasDeadline
	}
	c.state.Store(st)
	if !deadline.IsZero() {
		t := time.AfterFunc(time.Until(deadline), c.expire)
		c.mu.Lock()
		c.slow.timer = t
		c.mu.Unlock()
	}
}

func (c *Ctx) expire() { c.Cancel(Deadline, nil) }

// Kind reports why c was marked for cancellation, Live if it was not.
func (c *Ctx) Kind() Kind { return Kind(c.state.Load() & kindMask) }

// Live reports whether c is neither marked for cancellation nor past its
// deadline.
func (c *Ctx) Live() bool {
	st := c.state.Load()
	if st&kindMask != uint32(Live) {
		return false
	}
	return st&hasDeadline == 0 || time.Now().Before(c.slow.deadline)
}

// Mark records that c is cancelled, with kind and, for the Cause kind, cause,
// and reports whether it was the first to do so. A deadline that has passed
// wins over kind: it was first, even if its timer has not run yet. Nothing is
// visible until Fire.
func (c *Ctx) Mark(kind Kind, cause error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, first := c.mark(kind, cause)
	if first {
		c.state.Store(st)
	}
	return first
}

// mark returns the state c has once marked with kind and cause, and whether
// this is the first mark; it stores the cause, but not the state. c.mu must
// be held.
func (c *Ctx) mark(kind Kind, cause error) (uint32, bool) {
	st := c.state.Load()
	if st&kindMask != uint32(Live) {
		return st, false
	}
	if st&hasDeadline != 0 && !time.Now().Before(c.slow.deadline) {
		kind, cause = Deadline, nil
	}
	if kind == Cause {
		c.ensureSlow().cause = cause
	}
	return st | uint32(kind), true
}

// Fire makes a marked cancellation visible: Err reports it, Done is closed
// and the functions registered with AfterFunc (children) run on the calling
// goroutine. Fire does nothing on an unmarked or already fired Ctx.
func (c *Ctx) Fire() {
	c.mu.Lock()
	st := c.state.Load()
	if st&kindMask == uint32(Live) || st&fired != 0 {
		c.mu.Unlock()
		return
	}
	c.fire(st)
}

// Cancel marks and fires c, and reports whether it was the first
// cancellation. A nil cause with the Cause kind means Canceled.
func (c *Ctx) Cancel(kind Kind, cause error) bool {
	if kind == Cause && cause == nil {
		kind = Canceled
	}
	c.mu.Lock()
	st, first := c.mark(kind, cause)
	if st&fired != 0 {
		c.mu.Unlock()
		return first
	}
	c.fire(st)
	return first
}

// fire stores st, a marked state, as fired, unlocks c.mu, and does what the
// cancellation implies. c.mu must be held.
func (c *Ctx) fire(st uint32) {
	c.state.Store(st | fired)
	done := c.done
	var funcs *afterFunc
	var timer *time.Timer
	if s := c.slow; s != nil {
		funcs, s.funcs = s.funcs, nil
		timer, s.timer = s.timer, nil
	}
	c.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if done != nil {
		close(done)
	}
	for a := funcs; a != nil; a = a.next {
		a.f()
	}
}

func (c *Ctx) ensureSlow() *slow {
	if c.slow == nil {
		c.slow = new(slow)
	}
	return c.slow
}

// Deadline reports the deadline given to Init, if any.
func (c *Ctx) Deadline() (time.Time, bool) {
	if c.state.Load()&hasDeadline == 0 {
		return time.Time{}, false
	}
	return c.slow.deadline, true
}

// Done returns a channel that is closed when c's cancellation fires.
func (c *Ctx) Done() <-chan struct{} {
	if c.state.Load()&doneMade != 0 {
		return c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state.Load()
	if st&doneMade == 0 {
		c.done = make(chan struct{})
		if st&fired != 0 {
			close(c.done)
		}
		c.state.Store(st | doneMade)
	}
	return c.done
}

// Err returns nil until c's cancellation fires, then
// context.DeadlineExceeded for a passed deadline and context.Canceled for
// everything else.
func (c *Ctx) Err() error {
	st := c.state.Load()
	switch {
	case st&fired == 0:
		return nil
	case Kind(st&kindMask) == Deadline:
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// Value returns the parent's value for key. For the context package's
// private key with which context.Cause looks for a cancelled standard
// context, it answers (once c is cancelled) with one that carries c's cause,
// and never with one of the parent's.
func (c *Ctx) Value(key any) any {
	if key != cancelCtxKey {
		return c.parent.Value(key)
	}
	st := c.state.Load()
	if st&fired == 0 {
		return nil
	}
	switch Kind(st & kindMask) {
	case Abandoned:
		return abandonedCtx
	case Cause:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.slow.causeCtx == nil {
			c.slow.causeCtx = cancelled(c.slow.cause)
		}
		return c.slow.causeCtx
	}
	// context.Cause falls back to Err, which is the cause of every other
	// kind.
	return nil
}

// Reason returns the kind with which c was marked and, for the Cause kind,
// the cause, whether or not the cancellation fired.
func (c *Ctx) Reason() (Kind, error) {
	k := c.Kind()
	if k != Cause {
		return k, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return k, c.slow.cause
}

// CauseErr returns the cause of c's cancellation once it fired, nil before.
func (c *Ctx) CauseErr() error {
	st := c.state.Load()
	if st&fired == 0 {
		return nil
	}
	switch Kind(st & kindMask) {
	case Deadline:
		return context.DeadlineExceeded
	case Abandoned:
		return ErrAbandoned
	case Cause:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.slow.cause
	}
	return context.Canceled
}

// AfterFunc arranges for f to run once c's cancellation fires, and returns a
// function that unregisters f, reporting whether it did so before f ran. The
// standard library calls it (it looks for this method) to attach child
// contexts and context.AfterFunc to c without a goroutine of their own; f then
// runs on the goroutine that fires c. If c has already fired, f runs at once
// on a new goroutine (the caller may hold locks f needs).
func (c *Ctx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.state.Load()&fired != 0 {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	s := c.ensureSlow()
	a := &afterFunc{f: f, c: c, next: s.funcs}
	if s.funcs != nil {
		s.funcs.prev = a
	}
	s.funcs = a
	c.mu.Unlock()
	return a.stop
}

// String describes c for debugging.
func (c *Ctx) String() string {
	if err := c.CauseErr(); err != nil {
		return "cancelled: " + err.Error()
	}
	return "live"
}

// cancelCtxKey is the key with which context.Cause asks a context for the
// standard cancelCtx it derives from. The context package does not export
// it, so it is learnt once from a probe that records what Cause asks for.
var cancelCtxKey = func() any {
	p := &probe{Context: context.Background()}
	_ = context.Cause(p)
	return p.key
}()

type probe struct {
	context.Context
	key any
}

func (p *probe) Err() error { return context.Canceled }

func (p *probe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}

// abandonedCtx answers context.Cause for every abandoned Ctx.
var abandonedCtx = cancelled(ErrAbandoned)

// cancelled returns a standard context cancelled with cause, as the value
// that context.Cause expects under cancelCtxKey.
func cancelled(cause error) any {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx.Value(cancelCtxKey)
}
