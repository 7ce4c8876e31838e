package fleet_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The Redis the tests run against:
//   - FLEET_REDIS_ADDR=host:port: an external server;
//   - else a redis-server from PATH, started on a free 127.0.0.1 port and
//     killed at the end;
//   - else the embedded miniredis, with one line saying so; with
//     FLEET_REDIS=required that fallback is an error instead.
//
// Tests that kill, restart or reconfigure a server start their own
// redis-server, and are skipped without one (an error when required).
var (
	redisAddr     string
	realServer    bool // redisAddr is a real Redis, not miniredis
	redisRequired = os.Getenv("FLEET_REDIS") == "required"
)

func startSharedRedis() (stop func(), err error) {
	if addr := os.Getenv("FLEET_REDIS_ADDR"); addr != "" {
		redisAddr, realServer = addr, true
		return func() {}, nil
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		s, err := startServer(0)
		if err != nil {
			return nil, err
		}
		redisAddr, realServer = s.addr, true
		return s.kill, nil
	}
	if redisRequired {
		return nil, errors.New("redis-server not found in PATH and FLEET_REDIS=required")
	}
	fmt.Println("fleet tests: redis-server not found; using the embedded miniredis (FLEET_REDIS=required makes this an error)")
	return startMiniredis()
}

// startMiniredis starts the embedded server, and moves its clock along with
// real time: miniredis expires keys only when told time has passed.
func startMiniredis() (stop func(), err error) {
	m, err := miniredis.Run()
	if err != nil {
		return nil, err
	}
	redisAddr = m.Addr()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return func() { close(done); wg.Wait(); m.Close() }, nil
}

// needServer skips a test that must start its own redis-server when there
// is none (fails when real Redis is required).
func needServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if redisRequired {
			t.Fatal("redis-server not found in PATH and FLEET_REDIS=required")
		}
		t.Skip("needs redis-server in PATH")
	}
}

// server is a redis-server process of the tests.
type server struct {
	addr string
	port int
	dir  string
	args []string
	cmd  *exec.Cmd

	mu      sync.Mutex
	log     []string      // the server's log lines so far; guarded by mu
	logged  chan struct{} // closed and replaced at each line; guarded by mu
	drained chan struct{} // closed when the log ends
}

// startServer starts redis-server on port (a free one when 0) with extra
// arguments, and returns once it accepts connections.
func startServer(port int, extra ...string) (*server, error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	dir, err := os.MkdirTemp("", "fleet-redis-")
	if err != nil {
		return nil, err
	}
	s := &server{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, dir: dir, args: extra}
	return s, s.start()
}

func (s *server) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--logfile", "", "--loglevel", "notice",
	}, s.args...)
	cmd := exec.Command("redis-server", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.mu.Lock()
	s.log, s.logged, s.drained = nil, make(chan struct{}), make(chan struct{})
	s.mu.Unlock()
	go s.drain(out) // ends when the server does
	// The server says when it is ready; no need to poll it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !s.waitLog(ctx, "Ready to accept connections") {
		s.kill()
		return fmt.Errorf("redis-server on port %d did not start", s.port)
	}
	return nil
}

// drain reads the server's log.
func (s *server) drain(out io.Reader) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		s.mu.Lock()
		s.log = append(s.log, sc.Text())
		close(s.logged)
		s.logged = make(chan struct{})
		s.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, out)
	close(s.drained)
}

// waitLog waits until the server has logged a line holding text, and
// reports whether it did before ctx ended or the log did.
func (s *server) waitLog(ctx context.Context, text string) bool {
	seen := 0
	for {
		s.mu.Lock()
		lines, logged, drained := s.log[seen:], s.logged, s.drained
		seen = len(s.log)
		s.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, text) {
				return true
			}
		}
		select {
		case <-logged:
		case <-drained:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// kill ends the server at once (SIGKILL) and waits for it.
func (s *server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	<-s.drained
	s.cmd = nil
}

// restart starts the server again on the same port, empty.
func (s *server) restart() error { return s.start() }

// testServer starts a server for one test, killed at its end.
func testServer(t *testing.T, extra ...string) *server {
	t.Helper()
	needServer(t)
	s, err := startServer(0, extra...)
	require.NoError(t, err)
	t.Cleanup(func() { s.kill(); os.RemoveAll(s.dir) })
	return s
}

// newClient returns a client of addr, closed at the end of the test. It
// honours context deadlines, so op timeouts cut socket waits short, and
// reports a failed dial at once.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// prefix returns a prefix of the group names that no other test uses, nor
// another run of the same test (go test -count=N): outcomes retained in
// Redis by an earlier run must not answer a later one.
func prefix(t testing.TB) string {
	if p, ok := prefixes.Load(t); ok {
		return p.(string)
	}
	p := strings.NewReplacer("/", ".", " ", "_", "{", "(", "}", ")").Replace(t.Name()) +
		"#" + strconv.FormatInt(prefixRuns.Add(1), 10)
	got, _ := prefixes.LoadOrStore(t, p)
	return got.(string)
}

var (
	prefixes   sync.Map // testing.TB to its prefix
	prefixRuns atomic.Int64
)

// within bounds a test's waits: a context that ends after d, or at the
// test's deadline.
func within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recv receives from ch, failing the test when ctx ends first.
func recv[T any](t testing.TB, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// commands records the commands a client sends, by name, except those
// that set connections up.
type commands struct {
	mu    sync.Mutex
	names []string
}

func (c *commands) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(cmd)
		return next(ctx, cmd)
	}
}

func (c *commands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.record(cmd)
		}
		return next(ctx, cmds)
	}
}

func (c *commands) record(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return // connection setup, by go-redis, not by the group
	}
	c.mu.Lock()
	c.names = append(c.names, cmd.Name())
	c.mu.Unlock()
}

// take returns the commands recorded since the last take.
func (c *commands) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.names
	c.names = nil
	return n
}

// countedClient returns a client of the shared Redis whose commands are
// recorded.
func countedClient(t testing.TB) (*redis.Client, *commands) {
	rdb := newClient(t, redisAddr)
	c := &commands{}
	rdb.AddHook(c)
	return rdb, c
}

func runtimeGosched() { runtime.Gosched() }

// outcome is what one Do returned.
type outcome[V any] struct {
	v      V
	err    error
	shared bool
}

// goDo runs g.Do(ctx, key, fn) on a goroutine of its own and returns the
// channel of its outcome.
func goDo[V any](ctx context.Context, g *fleet.Group[V], key string, fn func(context.Context) (V, error)) <-chan outcome[V] {
	ch := make(chan outcome[V], 1)
	go func() {
		v, err, shared := g.Do(ctx, key, fn)
		ch <- outcome[V]{v, err, shared}
	}()
	return ch
}

// returning returns an fn that returns v.
func returning[V any](v V) func(context.Context) (V, error) {
	return func(context.Context) (V, error) { return v, nil }
}
