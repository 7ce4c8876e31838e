package crashtest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight/internal/crashtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const marker = "crashtest-marker"

// TestRequire: a child that crashes with the marker passes.
func TestRequire(t *testing.T) {
	if crashtest.InChild(t) {
		go panic(marker)
		select {}
	}
	crashtest.Require(t, marker, time.Minute)
}

// recorder is a testing.TB whose Fatalf only records, so that a test can
// check that Require fails.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

// TestRequireRejects: Require fails a child that does not crash, that
// crashes without the marker, or that hangs and is killed at the limit.
func TestRequireRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		child func()
		limit time.Duration
		want  string // in Require's failure
	}{
		{"no-crash", func() {}, time.Minute, "must crash"},
		{"other-crash", func() { go panic("something else"); select {} }, time.Minute, "must show"},
		// A bare select{} would die of the runtime's deadlock detector.
		{"hang", func() { time.Sleep(time.Hour) }, time.Second, "not be killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if crashtest.InChild(t) {
				tc.child()
				return
			}
			r := &recorder{TB: t}
			crashtest.Require(r, marker, tc.limit)
			if !strings.Contains(r.fatal, tc.want) {
				t.Fatalf("Require must fail with %q; it said %q", tc.want, r.fatal)
			}
		})
	}
}
