package flight

import (
	"errors"
	"fmt"

	"github.com/flightkit/flightkit/flight/internal/callctx"
	"github.com/flightkit/flightkit/flight/internal/panics"
)

// ErrGoexit is the error that waiters receive when fn called
// [runtime.Goexit] (for example through t.FailNow). The goroutine that ran fn
// exits as it asked, and so do the goroutines of Do callers waiting for it,
// exactly as with x/sync. DoCtx and DoChan waiters receive ErrGoexit instead
// of being left to hang (x/sync never answers DoChan waiters in this case).
var ErrGoexit = errors.New("flight: fn called runtime.Goexit")

// ErrAbandoned is the cause, reported by [context.Cause], with which the
// context of a [Group.DoCtx] call is cancelled when its last waiter detaches.
// It is never returned to a waiter: a waiter that detaches gets its own
// context's error.
var ErrAbandoned = callctx.ErrAbandoned

// PanicError is the value with which waiters panic when fn panicked. It holds
// the value fn panicked with and the stack of the goroutine that ran fn, so
// the panic's origin stays visible in the waiter's crash report.
type PanicError struct {
	// Value is the value fn passed to panic.
	Value any
	// Stack is the stack trace of fn's goroutine at the panic.
	Stack []byte
}

// Error describes the panic and includes the stack of fn.
func (p *PanicError) Error() string {
	return fmt.Sprintf("flight: fn panicked: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns Value when it is an error, so [errors.Is] and [errors.As]
// see what fn panicked with, and nil otherwise.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: panics.Stack()}
}

// ErrHedgeLost is the cause, reported by [context.Cause], with which the
// context of one of a hedged call's two executions is cancelled when the
// other one's outcome arrived first (see [WithHedge]). It is never returned
// to a waiter.
var ErrHedgeLost = errors.New("flight: the other execution of a hedged call finished first")
