package forget

import "time"

// Policy decides how long the outcome of a finished call stays shareable.
// Retain receives the error fn returned (nil for a value) and returns the
// window; zero or less forgets at once. The group calls Retain once per
// finished call, on the goroutine that ran fn, and never for outcomes it
// refuses to keep (see the package documentation).
type Policy interface {
	Retain(err error) time.Duration
}

// Func adapts a function to a [Policy].
type Func func(err error) time.Duration

// Retain returns f(err).
func (f Func) Retain(err error) time.Duration { return f(err) }

// split keeps values for v and errors for e.
type split struct{ v, e time.Duration }

func (s split) Retain(err error) time.Duration {
	if err != nil {
		return s.e
	}
	return s.v
}

// Now returns the default policy: forget every outcome as soon as it is
// delivered, as x/sync does.
func Now() Policy { return split{} }

// After returns a policy that keeps every outcome, values and errors alike,
// for d. It panics if d is negative.
func After(d time.Duration) Policy { return Split(d, d) }

// Split returns a policy that keeps values for values and errors for errs.
// Split(d, 0), the usual choice, shares a value with a burst's stragglers
// while a failure is retried by the next caller. It panics if either window
// is negative.
func Split(values, errs time.Duration) Policy {
	if values < 0 || errs < 0 {
		panic("forget: negative window")
	}
	return split{v: values, e: errs}
}
