package fleet

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The notification path: how followers learn the outcome.
//
// A follower whose first look found the lease held subscribes to the
// flight's channel, waits for the server's confirmation, and only then
// looks again (acquire). An outcome published after that look reaches it by
// push; one published before it left the lease free, and the look takes
// the lease. No wake-up is lost and nothing polls. The follower then waits
// for a frame, for the end of its context, or for its safety check: one
// lease TTL after it began to wait, then every TTL/3, it looks again, in
// case the leader crashed or lost Redis and its lease ran out.
//
// One pub/sub connection per group carries every channel (in Cluster mode
// one per master node, with sharded pub/sub). The first follower opens it;
// it is closed once no follower has used it for idleClose, and by Close.
// A channel stays subscribed after its last follower leaves, so that the
// next follower of a hot key needs no SUBSCRIBE round trip and leaving
// costs no write; frames for such an idle channel are dropped, and idle
// channels are unsubscribed in one batch once there are more than
// maxIdleChannels. An error on the connection ends it: every follower on
// it is told (lost) and looks again, on a new connection; if Redis is
// gone, that look fails and the follower runs fn itself. The server
// confirms SUBSCRIBE and UNSUBSCRIBE in the order they were sent on the
// connection, so each channel keeps the queue of confirmations it
// expects; anything else ends the connection, as an error does.

// idleClose is how long an unused pub/sub connection stays open.
const idleClose = 2 * time.Second

// maxIdleChannels is how many channels without followers a connection
// keeps subscribed.
const maxIdleChannels = 256

// errLost reports a pub/sub connection that ended under a follower.
var errLost = errors.New("fleet: pub/sub connection lost")

// notifier owns a group's pub/sub connections.
type notifier struct {
	c *core

	mu     sync.Mutex
	conns  map[string]*psConn // by node address; "" outside Cluster mode
	closed bool               // Close was called
	loops  sync.WaitGroup     // receive goroutines; Add under mu while !closed
}

// psConn is one pub/sub connection and the channels subscribed on it. All
// fields are guarded by notifier.mu.
type psConn struct {
	addr  string
	ps    *redis.PubSub
	chans map[string]*chanState
	nsubs int             // subs on all channels
	nidle int             // channels subscribed without subs
	pongs []chan struct{} // one per PING sent and not yet answered
	dead  bool            // ended: no longer in notifier.conns
	idle  stopper         // the idle close timer, while nsubs == 0
}

type chanState struct {
	subs []*sub
	on   bool // the last command sent for the channel was SUBSCRIBE
	// expect holds, in the order they were sent and for each SUBSCRIBE or
	// UNSUBSCRIBE not yet confirmed, the SUBSCRIBE's ready channel or nil.
	expect []chan struct{}
	ready  chan struct{} // closed when the latest SUBSCRIBE is confirmed
}

// subscribe subscribes to channel and returns once the server confirmed
// it, so that anything published from then on reaches the sub.
func (n *notifier) subscribe(ctx context.Context, channel string) (*sub, error) {
	addr, open, err := n.route(ctx, channel)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, n.c.cfg.opTimeout)
	defer cancel()

	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, ErrClosed
	}
	pc := n.conns[addr]
	fresh := pc == nil
	if fresh {
		pc = &psConn{addr: addr, ps: open(), chans: make(map[string]*chanState)}
		n.conns[addr] = pc
	}
	s, err := pc.add(ctx, n, channel)
	if err != nil {
		n.kill(pc)
		n.mu.Unlock()
		return nil, err
	}
	if fresh {
		// Only now: the receive loop would otherwise dial the connection
		// itself, unbounded by the op timeout.
		n.loops.Add(1)
		go n.receive(pc)
	}
	n.mu.Unlock()

	// A frame can reach s before the confirmation when the channel was
	// subscribed already: keep it for the follower, and its signal too.
	framed := false
	for err == nil {
		select {
		case <-s.ready:
			if framed {
				s.wake()
			}
			return s, nil
		case <-s.signal:
			if s.isLost() {
				err = errLost
			}
			framed = true
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.close()
	return nil, err
}

// route returns the address of the connection for channel and how to open
// it: the one connection of the group, or in Cluster mode a connection to
// the master that serves the channel's slot.
func (n *notifier) route(ctx context.Context, channel string) (string, func() *redis.PubSub, error) {
	cc, ok := n.c.rdb.(*redis.ClusterClient)
	if !ok {
		return "", func() *redis.PubSub { return n.c.rdb.Subscribe(context.Background()) }, nil
	}
	node, err := op(n.c, ctx, func(ctx context.Context) (*redis.Client, error) {
		return cc.MasterForKey(ctx, channel)
	})
	if err != nil {
		return "", nil, err
	}
	return node.Options().Addr, func() *redis.PubSub { return node.SSubscribe(context.Background()) }, nil
}

// add registers a new sub for channel, subscribing the channel unless it
// is subscribed already (the sub then shares the latest SUBSCRIBE's
// confirmation). n.mu must be held.
func (pc *psConn) add(ctx context.Context, n *notifier, channel string) (*sub, error) {
	cs := pc.chans[channel]
	if cs == nil {
		cs = &chanState{}
		pc.chans[channel] = cs
	}
	if pc.idle != nil {
		pc.idle.Stop()
		pc.idle = nil
	}
	s := &sub{n: n, pc: pc, channel: channel, signal: make(chan struct{}, 1)}
	if len(cs.subs) == 0 && cs.on {
		pc.nidle--
	}
	cs.subs = append(cs.subs, s)
	pc.nsubs++
	if !cs.on {
		cs.on, cs.ready = true, make(chan struct{})
		cs.expect = append(cs.expect, cs.ready)
		s.ready = cs.ready
		if n.c.sharded {
			return s, pc.ps.SSubscribe(ctx, channel)
		}
		return s, pc.ps.Subscribe(ctx, channel)
	}
	s.ready = cs.ready
	return s, nil
}

// unsubscribeIdle unsubscribes, in one command, every channel that has no
// sub. n.mu must be held.
func (pc *psConn) unsubscribeIdle(ctx context.Context, n *notifier) error {
	var idle []string
	for ch, cs := range pc.chans {
		if cs.on && len(cs.subs) == 0 {
			cs.on = false
			cs.expect = append(cs.expect, nil)
			idle = append(idle, ch)
		}
	}
	pc.nidle = 0
	if n.c.sharded {
		return pc.ps.SUnsubscribe(ctx, idle...)
	}
	return pc.ps.Unsubscribe(ctx, idle...)
}

// receive reads pc until it ends, and hands frames and confirmations out.
func (n *notifier) receive(pc *psConn) {
	defer n.loops.Done()
	for {
		msg, err := pc.ps.Receive(context.Background())
		n.mu.Lock()
		if err != nil {
			if !pc.dead {
				// Not ended by us: Redis failed under the followers.
				n.c.failed(err)
				n.kill(pc)
			}
			n.mu.Unlock()
			return
		}
		switch m := msg.(type) {
		case *redis.Message:
			if cs := pc.chans[m.Channel]; cs != nil {
				for _, s := range cs.subs {
					s.deliver(m.Payload)
				}
			}
		case *redis.Subscription:
			if !pc.confirm(m) {
				n.kill(pc)
			}
		case *redis.Pong:
			if len(pc.pongs) == 0 {
				n.kill(pc)
				break
			}
			close(pc.pongs[0])
			pc.pongs = pc.pongs[1:]
		}
		n.mu.Unlock()
	}
}

// confirm takes a confirmation off its channel's queue. It reports false
// when the confirmation was not the one expected (the server unsubscribed
// the connection on its own, as Cluster does when a slot moves). n.mu must
// be held.
func (pc *psConn) confirm(m *redis.Subscription) bool {
	cs := pc.chans[m.Channel]
	if cs == nil || len(cs.expect) == 0 {
		return false
	}
	ready := cs.expect[0]
	cs.expect = cs.expect[1:]
	subscribe := m.Kind == "subscribe" || m.Kind == "ssubscribe"
	if subscribe != (ready != nil) {
		return false
	}
	if ready != nil {
		close(ready)
	}
	if !cs.on && len(cs.subs) == 0 && len(cs.expect) == 0 {
		delete(pc.chans, m.Channel)
	}
	return true
}

// kill ends pc: its followers are told, and its receive loop stops. n.mu
// must be held.
func (n *notifier) kill(pc *psConn) {
	if pc.dead {
		return
	}
	pc.dead = true
	if n.conns[pc.addr] == pc {
		delete(n.conns, pc.addr)
	}
	if pc.idle != nil {
		pc.idle.Stop()
	}
	for _, p := range pc.pongs {
		close(p)
	}
	pc.pongs = nil
	for _, cs := range pc.chans {
		for _, s := range cs.subs {
			s.markLost()
		}
	}
	_ = pc.ps.Close()
}

// close ends every connection and waits for the receive loops.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	for _, pc := range n.conns {
		n.kill(pc)
	}
	n.mu.Unlock()
	n.loops.Wait()
}
