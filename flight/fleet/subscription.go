package fleet

import (
	"context"
	"sync"
)

// A follower's side of the notification path: its subscription to one
// flight's channel, what reaches it there, and the PING sync.

// sub is one follower's subscription to one channel.
type sub struct {
	n       *notifier
	pc      *psConn
	channel string
	ready   chan struct{} // closed when the server confirmed the subscription
	signal  chan struct{} // buffer 1: a frame, a loss or a tick to look at

	mu     sync.Mutex
	frames []string // received, not yet taken
	lost   bool     // the connection ended
	tick   bool     // the safety check is due
}

// sync waits until every frame that the server published to s's
// connection before now has reached s: it sends PING on the connection and
// waits for the answer, which the server sends after them. A follower that
// finds the lease free uses it to tell a flight that just finished (its
// outcome is then in s) from one that went away. It reports false when the
// connection failed or the op timeout passed first.
func (s *sub) sync(ctx context.Context) bool {
	n, pc := s.n, s.pc
	ctx, cancel := context.WithTimeout(ctx, n.c.cfg.opTimeout)
	defer cancel()
	n.mu.Lock()
	if pc.dead {
		n.mu.Unlock()
		return false
	}
	pong := make(chan struct{})
	pc.pongs = append(pc.pongs, pong)
	if err := pc.ps.Ping(ctx); err != nil {
		n.kill(pc)
		n.mu.Unlock()
		return false
	}
	n.mu.Unlock()
	select {
	case <-pong:
		return !s.isLost()
	case <-ctx.Done():
		return false
	}
}

// close ends s. The channel stays subscribed, idle, when s was its last
// sub, and the connection is closed once unused for idleClose.
func (s *sub) close() {
	n, pc := s.n, s.pc
	n.mu.Lock()
	defer n.mu.Unlock()
	cs := pc.chans[s.channel]
	for i, x := range cs.subs {
		if x == s {
			cs.subs = append(cs.subs[:i], cs.subs[i+1:]...)
			break
		}
	}
	pc.nsubs--
	if pc.dead {
		return
	}
	if len(cs.subs) == 0 {
		if pc.nidle++; pc.nidle > maxIdleChannels {
			ctx, cancel := context.WithTimeout(context.Background(), n.c.cfg.opTimeout)
			err := pc.unsubscribeIdle(ctx, n)
			cancel()
			if err != nil {
				n.kill(pc)
				return
			}
		}
	}
	if pc.nsubs == 0 {
		pc.idle = n.c.cfg.clock.AfterFunc(idleClose, func() {
			n.mu.Lock()
			if pc.nsubs == 0 {
				n.kill(pc)
			}
			n.mu.Unlock()
		})
	}
}

func (s *sub) deliver(frame string) {
	s.mu.Lock()
	s.frames = append(s.frames, frame)
	s.mu.Unlock()
	s.wake()
}

func (s *sub) isLost() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

func (s *sub) markLost() {
	s.mu.Lock()
	s.lost = true
	s.mu.Unlock()
	s.wake()
}

// poke makes the safety check due; it is the safety timer's function.
func (s *sub) poke() {
	s.mu.Lock()
	s.tick = true
	s.mu.Unlock()
	s.wake()
}

func (s *sub) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// take returns what arrived since the last take.
func (s *sub) take() (frames []string, lost, tick bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	frames, s.frames = s.frames, nil
	tick, s.tick = s.tick, false
	return frames, s.lost, tick
}
