package fleet

import (
	"sort"
	"sync"
	"time"
)

// Test hooks. Install them right after New, before the first Do.

// SetEventHook has f called at the group's events ("held", "subscribed",
// "waiting", "lead") with the key.
func SetEventHook[V any](g *Group[V], f func(ev, key string)) { g.hooks.event = f }

// SetRenewalHook has f called before each renewal of a lease with the
// lease's key; when f returns true the renewal is skipped, as if the
// leader had stalled.
func SetRenewalHook[V any](g *Group[V], f func(leaseKey string) bool) { g.hooks.stallRenewal = f }

// Names returns the Redis names of key's flight under prefix.
func Names(prefix, key string) (lease, out, channel string) {
	n := namesFor(prefix, key)
	return n.lease, n.out, n.channel
}

// Frames, as other processes (or other versions) would publish them.
func ValueFrame(payload []byte) []byte { return valueFrame(payload, stamp{delta: time.Millisecond}) }
func ErrorFrame(code, msg string) []byte {
	return errorFrame(code, msg, stamp{delta: time.Millisecond})
}
func ReleasedFrame() []byte { return noticeFrame(kindReleased) }
func MissFrame() []byte     { return noticeFrame(kindMiss) }
func FrameKind(b []byte) (kind byte, ok bool) {
	f, err := decodeFrame(b)
	return f.kind, err == nil
}

// Stamp is what a frame says about its outcome.
type Stamp struct {
	Delta  time.Duration // how long fn ran
	Expiry time.Time     // end of the retention window; zero if none
	Window time.Duration // the retention window
}

// DecodeFrame exposes the frame parser to the fuzz test: it returns the
// parts of a well-formed frame.
func DecodeFrame(b []byte) (kind byte, st Stamp, code string, body []byte, err error) {
	f, err := decodeFrame(b)
	return f.kind, Stamp{f.delta, f.expiry, f.window}, f.code, f.body, err
}

// EncodeFrame builds a V or E frame from parts, for round trips.
func EncodeFrame(kind byte, st Stamp, code string, body []byte) []byte {
	s := stamp{delta: st.Delta, expiry: st.Expiry, window: st.Window}
	if kind == kindError {
		return errorFrame(code, string(body), s)
	}
	return valueFrame(body, s)
}

// WithRand has the group draw XFetch's uniform numbers from f, in [0, 1).
func WithRand(f func() float64) Option { return optionFunc(func(cfg *config) { cfg.rand = f }) }

// XFetch is the XFetch rule: whether an outcome that expires in left,
// computed in delta, is refreshed with eagerness beta and the uniform
// draw u in (0, 1].
func XFetch(left, delta time.Duration, beta, u float64) bool { return xfetch(left, delta, beta, u) }

// Early reports whether g refreshes an outcome that expires in left,
// computed in delta, drawing from its random source.
func Early[V any](g *Group[V], left, delta time.Duration) bool {
	now := g.cfg.clock.Now()
	return g.early(now, stamp{delta: delta, expiry: now.Add(left), window: time.Minute})
}

// ManualClock is a clock that moves only when told, for the timers of a
// group: renewals, safety checks, the retry after an error, the idle close.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*manualTimer
}

type manualTimer struct {
	c    *ManualClock
	when time.Time
	f    func()
	done bool
}

// NewManualClock returns a clock at an arbitrary fixed instant.
func NewManualClock() *ManualClock {
	return &ManualClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// WithClock has the group read time and set timers on c.
func WithClock(c *ManualClock) Option { return optionFunc(func(cfg *config) { cfg.clock = c }) }

func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ManualClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{c: c, when: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves the clock by d and runs, in order and on the caller's
// goroutine, the functions of the timers that came due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*manualTimer
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.when.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].when.Before(due[j].when) })
	for _, t := range due {
		t.f()
	}
}

// Pending returns the number of timers set and not yet run or stopped.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}
