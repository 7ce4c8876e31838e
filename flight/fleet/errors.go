package fleet

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by [Group.Do] once [Group.Close] was called, also to
// callers that were waiting for another process's outcome at that moment.
var ErrClosed = errors.New("fleet: group closed")

// ErrUnavailable is matched (errors.Is) by the error that a group built
// with [WithFailClosed] returns when it cannot use Redis; the error also
// wraps the Redis error itself. Groups without that option never return
// it: they fall back to coalescing inside the process.
var ErrUnavailable = errors.New("fleet: redis unavailable")

// RemoteError is the error that callers receive when fn returned an error
// in another process, the one that led the flight. Error returns fn's
// error message unchanged. Callers in the leader's own process receive
// fn's error itself.
//
// An error value cannot cross processes, only its message can; so to keep
// errors.Is working, register your sentinel errors with [WithErrors] under
// names, in every process. The leader sends the name of the first sentinel
// that fn's error matches (errors.Is), and Unwrap returns the sentinel
// registered under that name here, so errors.Is(err, ErrNotFound) holds in
// the follower exactly when it held in the leader. When no sentinel matched
// in the leader, or this process knows no sentinel by that name (another
// version of the service), Code is still set and Unwrap returns nil.
type RemoteError struct {
	// Message is fn's error message in the leader.
	Message string
	// Code is the name under which the matching sentinel was registered
	// with WithErrors in the leader, or "" when none matched.
	Code string

	sentinel error // registered here under Code; nil if none
}

// Error returns fn's error message.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel registered under e.Code in this process, or
// nil.
func (e *RemoteError) Unwrap() error { return e.sentinel }

// unavailable wraps a Redis error for a fail-closed caller.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
