// Package crashtest runs the crashing half of a test in a child process of
// the test binary, as x/sync's TestPanicDoChan does, for the behaviours that
// end in a crash: a panic that nobody can receive must kill the process, never
// vanish. Only tests import it.
//
//	func TestCrash(t *testing.T) {
//		if crashtest.InChild(t) {
//			... make the process crash with a panic carrying marker ...
//		}
//		crashtest.Require(t, marker, time.Minute)
//	}
package crashtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// env names the test that a child process runs as the crashing side.
const env = "FLIGHTKIT_CRASH_CHILD"

// InChild reports whether t runs in the child process that must crash.
func InChild(t testing.TB) bool { return os.Getenv(env) == t.Name() }

// Require re-runs t in a child process, where InChild is true, and fails t
// unless the child died on its own (a non-zero exit, not killed) with a
// crash report that contains marker. A child that exits normally, or that
// is still running after limit and is killed, fails t. It skips t in -short
// mode.
func Require(t testing.TB, marker string, limit time.Duration) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a child process")
	}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case !errors.As(err, &exit):
		t.Fatalf("the child must crash, got %v; output:\n%s", err, out)
	case exit.ExitCode() <= 0:
		t.Fatalf("the child must exit on its own, not be killed (%v); output:\n%s", err, out)
	case !strings.Contains(string(out), marker):
		t.Fatalf("the crash report must show %q; output:\n%s", marker, out)
	}
}
