package fleet

import "time"

// clock is where the group reads time and sets timers: the lease renewal,
// the followers' safety check, the retry after a Redis error and the idle
// close of a pub/sub connection. Tests swap it for a manual one (see
// export_test.go), so they can move time without sleeping.
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

// stopper stops a timer set by clock.AfterFunc, as [time.Timer.Stop] does.
type stopper interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
