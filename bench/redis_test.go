package bench

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// startRedis starts a redis-server on a free loopback port for one
// benchmark and returns its address; the server is killed when the
// benchmark ends. Without redis-server in PATH the benchmark is skipped,
// unless FLEET_REDIS=required makes that a failure.
func startRedis(tb testing.TB) string {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("FLEET_REDIS") == "required" {
			tb.Fatal("redis-server not found in PATH and FLEET_REDIS=required")
		}
		tb.Skip("needs redis-server in PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", tb.TempDir(), "--logfile", "")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() { // the server says when it is ready
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() { // until the server ends
				for sc.Scan() {
				}
			}()
			return net.JoinHostPort("127.0.0.1", port)
		}
	}
	tb.Fatal("redis-server did not start")
	return ""
}

// redisClient returns a client of addr, closed when the benchmark ends.
func redisClient(tb testing.TB, addr string) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// commandCounter counts the commands a client sends, except those that set
// its connections up.
type commandCounter struct{ n int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.count(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.count(cmd)
		}
		if len(cmds) > 1 {
			c.n -= int64(len(cmds) - 1) // a pipeline is one round trip
		}
		return next(ctx, cmds)
	}
}

func (c *commandCounter) count(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
	default:
		c.n++
	}
}
