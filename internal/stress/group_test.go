package stress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// behaviour is what fn does when a call starts it, drawn by the caller.
type behaviour struct {
	out    int32 // outValue, outError, outPanic, outGoexit or outWait
	yields int   // runtime.Gosched calls before that
}

// outWait: fn waits a while for its context to end, and returns its cause
// as an error if it does, a value otherwise.
const outWait int32 = 99

type panicValue struct {
	exec int64
	key  int
}

// execError is the error an execution returns; cause is its context's cause
// when it gave up waiting for it.
type execError struct {
	exec  int64
	key   int
	cause error
}

func (e execError) Error() string {
	return fmt.Sprintf("execution %d of key %d failed (cause: %v)", e.exec, e.key, e.cause)
}

func (e execError) Unwrap() error { return e.cause }

var errCancel = errors.New("stress: Cancel's cause")

// chanKey reports whether key takes DoChan callers. Those keys never panic,
// since a panic with a DoChan waiter crashes the process by design; the
// other keys take no DoChan callers. With fewer than 4 keys the phase's
// seed decides for all.
func (p *phase) chanKey(key int) bool {
	if p.cfg.keys < 4 {
		return p.seed%2 == 0
	}
	return key%4 == 0
}

func (p *phase) drawBehaviour(rng *rand.Rand, key int) behaviour {
	b := behaviour{yields: rng.IntN(8)}
	switch r := rng.IntN(100); {
	case r < 65:
		b.out = outValue
	case r < 77:
		b.out = outError
	case r < 82:
		b.out = outPanic
		if p.chanKey(key) {
			b.out = outValue
		}
	case r < 85:
		b.out = outGoexit
	default:
		b.out = outWait
	}
	return b
}

// fn is the function of every group call: it records the execution, checks
// that it does not overlap another one of key, and behaves as b says.
func (p *phase) fn(key int, gen uint64, b behaviour, fctx context.Context) (int64, error) {
	id := p.nextExec.Add(1)
	if id >= int64(len(p.execs)) {
		p.fail("execution %d: more executions than calls", id)
		return 0, errors.New("stress: too many executions")
	}
	rec := &p.execs[id]
	rec.key.Store(int32(key))
	p.enter(p.keys, "execution", key, id, gen, fctx)
	defer p.exit(p.keys, key, id)
	for range b.yields {
		runtime.Gosched()
	}
	out := b.out
	if out == outWait {
		for i := 0; i < 32 && fctx != nil && fctx.Err() == nil; i++ {
			runtime.Gosched()
		}
		if fctx != nil && fctx.Err() != nil {
			rec.outcome.Store(outError)
			return 0, execError{id, key, context.Cause(fctx)}
		}
		out = outValue
	}
	rec.outcome.Store(out)
	switch out {
	case outValue:
		return id<<16 | int64(key), nil
	case outError:
		return 0, execError{id, key, nil}
	case outPanic:
		panic(panicValue{id, key})
	}
	p.goexited[key].Store(true)
	runtime.Goexit()
	return 0, nil
}

type entryPoint int

const (
	epDo entryPoint = iota
	epDoCtxBg
	epDoCtx
	epDoChan
)

func (e entryPoint) String() string { return [...]string{"Do", "DoCtx(bg)", "DoCtx", "DoChan"}[e] }

func (p *phase) drawDo(rng *rand.Rand, key int) func() {
	b := p.drawBehaviour(rng, key)
	return func() {
		p.calls.Add(1)
		gen := p.keys[key].gen.Load()
		var (
			v        int64
			err      error
			shared   bool
			returned bool
		)
		defer func() {
			r := recover()
			p.answer(key, epDo, nil, v, err, shared, r, r == nil && !returned)
		}()
		v, err, shared = p.g.Do(key, func() (int64, error) { return p.fn(key, gen, b, nil) })
		returned = true
	}
}

// drawDoCtx draws a DoCtx call whose ctx cannot end, is done on entry, has
// a deadline of up to 200µs, is cancelled by another goroutine soon, or is
// never cancelled.
func (p *phase) drawDoCtx(rng *rand.Rand, key int) func() {
	b := p.drawBehaviour(rng, key)
	mode, yields := rng.IntN(5), rng.IntN(8)
	timeout := time.Duration(rng.IntN(200)) * time.Microsecond
	return func() {
		p.calls.Add(1)
		ctx, ep, cancel := context.Background(), epDoCtx, context.CancelFunc(func() {})
		switch mode {
		case 0:
			ep = epDoCtxBg
		case 1:
			ctx, cancel = context.WithCancel(ctx)
			cancel()
		case 2:
			ctx, cancel = context.WithTimeout(ctx, timeout)
		case 3:
			ctx, cancel = context.WithCancel(ctx)
			go func() {
				for range yields {
					runtime.Gosched()
				}
				cancel()
			}()
		default:
			ctx, cancel = context.WithCancel(ctx)
		}
		defer cancel()
		gen := p.keys[key].gen.Load()
		var (
			v        int64
			err      error
			shared   bool
			returned bool
		)
		defer func() {
			r := recover()
			p.answer(key, ep, ctx, v, err, shared, r, r == nil && !returned)
		}()
		v, err, shared = p.g.DoCtx(ctx, key, func(fctx context.Context) (int64, error) { return p.fn(key, gen, b, fctx) })
		returned = true
	}
}

func (p *phase) drawDoChan(rng *rand.Rand, key int) func() {
	if !p.chanKey(key) {
		if p.cfg.keys < 4 {
			return p.drawDo(rng, key)
		}
		key -= key % 4
	}
	b := p.drawBehaviour(rng, key)
	return func() {
		p.calls.Add(1)
		gen := p.keys[key].gen.Load()
		ch := p.g.DoChan(key, func() (int64, error) { return p.fn(key, gen, b, nil) })
		select {
		case r := <-ch:
			p.answer(key, epDoChan, nil, r.Val, r.Err, r.Shared, nil, false)
			select {
			case r, ok := <-ch:
				p.fail("DoChan on key %d delivered a second time (%v, open %v)", key, r, ok)
			default:
			}
		case <-p.stuck:
			p.fail("DoChan on key %d never answered", key)
		}
	}
}

func (p *phase) forget(key int, unshared bool) {
	p.forgets.Add(1)
	ks := &p.keys[key]
	ks.releasing.Add(1)
	defer ks.releasing.Add(-1)
	defer ks.gen.Add(1)
	if unshared {
		p.g.ForgetUnshared(key)
	} else {
		p.g.Forget(key)
	}
}

func (p *phase) cancel(key int, withCause bool) {
	p.cancels.Add(1)
	ks := &p.keys[key]
	ks.releasing.Add(1)
	defer ks.releasing.Add(-1)
	defer ks.gen.Add(1)
	var cause error
	if withCause {
		cause = errCancel
	}
	if p.g.Cancel(key, cause) {
		p.cancelled.Add(1)
	}
}

// answer checks what one group call received: returned v, err and shared,
// panicked with pan, or exited through runtime.Goexit.
func (p *phase) answer(key int, ep entryPoint, ctx context.Context, v int64, err error, shared bool, pan any, exited bool) {
	p.answered.Add(1)
	switch {
	case exited:
		p.goexits.Add(1)
		if ep != epDo && ep != epDoCtxBg {
			p.fail("%v on key %d: the caller's goroutine exited", ep, key)
		}
		if !p.goexited[key].Load() {
			p.fail("%v on key %d: the caller's goroutine exited, but no fn of key called Goexit", ep, key)
		}
	case pan != nil:
		p.panics.Add(1)
		pe, ok := pan.(*flight.PanicError)
		if !ok || ep == epDoChan {
			p.fail("%v on key %d: panic %v", ep, key, pan)
			return
		}
		if pv, ok := pe.Value.(panicValue); !ok || pv.key != key || p.execs[pv.exec].outcome.Load() != outPanic {
			p.fail("%v on key %d: panicked with %v", ep, key, pe.Value)
		}
	case err == nil:
		p.values.Add(1)
		id, k := v>>16, int(v&0xffff)
		if k != key || id <= 0 || id >= int64(len(p.execs)) || p.execs[id].outcome.Load() != outValue {
			p.fail("%v on key %d: value %#x is not a value of an execution of key", ep, key, v)
			return
		}
		p.received(id, shared)
	case errors.Is(err, flight.ErrAbandoned):
		p.fail("%v on key %d: received %v", ep, key, err)
	default:
		var ee execError
		switch {
		case errors.As(err, &ee):
			p.errs.Add(1)
			if ee.key != key || p.execs[ee.exec].outcome.Load() != outError {
				p.fail("%v on key %d: error %v", ep, key, err)
				return
			}
			p.received(ee.exec, shared)
		case errors.Is(err, flight.ErrGoexit):
			p.errGoexit.Add(1)
			if ep == epDo || !p.goexited[key].Load() {
				p.fail("%v on key %d: %v", ep, key, err)
			}
		case ctx != nil && ctx.Err() != nil && err == ctx.Err():
			p.ctxErrs.Add(1)
			if shared || ep == epDoCtxBg {
				p.fail("%v on key %d: its ctx's error with shared %v", ep, key, shared)
			}
		default:
			p.fail("%v on key %d: unexpected error %v", ep, key, err)
		}
	}
}

func (p *phase) received(id int64, shared bool) {
	rec := &p.execs[id]
	rec.recvd.Add(1)
	if shared {
		rec.shared.Add(1)
	}
}
