// Package panics holds what flight and batch share to turn a recovered panic
// into a *flight.PanicError. Callers never import it.
package panics

import (
	"bytes"
	"runtime/debug"
)

// Stack returns the stack of the calling goroutine without its first line,
// "goroutine N [running]:", which would mislead once the panic value
// re-panics in another goroutine. Call it from the deferred function that
// recovered, before the stack unwinds.
func Stack() []byte {
	stack := debug.Stack()
	if i := bytes.IndexByte(stack, '\n'); i >= 0 {
		stack = stack[i+1:]
	}
	return stack
}
