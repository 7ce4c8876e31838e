package fleet_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// TestMain runs the tests against one Redis for the package (see
// harness_test.go), or, when FLEET_WORKER is set, runs this binary as a
// worker process of a multi-process test instead (see process_test.go).
func TestMain(m *testing.M) {
	if role := os.Getenv(workerEnv); role != "" {
		os.Exit(runWorker(role))
	}
	redis.SetLogger(quiet{}) // the fault tests make go-redis log every failed dial
	goleak.VerifyTestMain(withRedis{m})
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// withRedis brackets the tests with the package's Redis, so that goleak
// checks for leaks after the server and its helpers are gone.
type withRedis struct{ m *testing.M }

func (w withRedis) Run() int {
	stop, err := startSharedRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet tests:", err)
		return 1
	}
	defer stop()
	return w.m.Run()
}
