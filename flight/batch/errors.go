package batch

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flightkit/flightkit/flight"
	"github.com/flightkit/flightkit/flight/internal/panics"
)

// ErrNotFound is the error a key gets when fetch returned neither a value
// nor an error for it: the key is missing from fetch's map and, when fetch
// returned [KeyErrors], from those too. Load and LoadMany return it as is, so
// errors.Is(err, ErrNotFound) and err == ErrNotFound both hold.
var ErrNotFound = errors.New("batch: not found")

// KeyErrors maps keys to their own errors. It lets fetch fail some keys
// without failing the whole batch: when the error fetch returns is, or wraps
// (see [errors.As]), a KeyErrors[K], each key it lists with a non-nil error
// gets that error, and every other key of the batch gets its value from
// fetch's map, or [ErrNotFound]. Any other non-nil error from fetch is the
// error of every key of the batch.
//
// [Results.Err] reports the keys that failed a LoadMany as a KeyErrors too.
// Unwrap returns its errors, so errors.Is(errs, ErrNotFound) reports whether
// any key was missing.
type KeyErrors[K comparable] map[K]error

// Error lists the failed keys and their errors, ordered by the keys' text so
// that the message is the same every time.
func (e KeyErrors[K]) Error() string {
	lines := make([]string, 0, len(e))
	for k, err := range e {
		lines = append(lines, fmt.Sprintf("%v: %v", k, err))
	}
	slices.Sort(lines)
	keys := "keys"
	if len(e) == 1 {
		keys = "key"
	}
	return fmt.Sprintf("batch: %d %s failed: %s", len(e), keys, strings.Join(lines, "; "))
}

// Unwrap returns the non-nil errors of e, for [errors.Is] and [errors.As].
func (e KeyErrors[K]) Unwrap() []error {
	errs := make([]error, 0, len(e))
	for _, err := range e {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// newPanicError records a value recovered from fetch with the stack of the
// goroutine that ran it. It must be called from the deferred function that
// recovered, before the stack unwinds.
func newPanicError(v any) *flight.PanicError {
	return &flight.PanicError{Value: v, Stack: panics.Stack()}
}
