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

// TestRequireNoCrash: a child that returns normally fails Require.
func TestRequireNoCrash(t *testing.T) {
	if crashtest.InChild(t) {
		return
	}
	r := &recorder{TB: t}
	crashtest.Require(r, marker, time.Minute)
	if !strings.Contains(r.fatal, "must crash") {
		t.Fatalf("Require must fail a child that did not crash; it said %q", r.fatal)
	}
}

// TestRequireOtherCrash: a crash without the marker fails Require.
func TestRequireOtherCrash(t *testing.T) {
	if crashtest.InChild(t) {
		go panic("something else")
		select {}
	}
	r := &recorder{TB: t}
	crashtest.Require(r, marker, time.Minute)
	if !strings.Contains(r.fatal, "must show") {
		t.Fatalf("Require must fail a crash without the marker; it said %q", r.fatal)
	}
}

// TestRequireHang: a child still running at the limit is killed, which
// fails Require.
func TestRequireHang(t *testing.T) {
	if crashtest.InChild(t) {
		time.Sleep(time.Hour) // a bare select{} would die of the deadlock detector
	}
	r := &recorder{TB: t}
	crashtest.Require(r, marker, time.Second)
	if !strings.Contains(r.fatal, "not be killed") {
		t.Fatalf("Require must fail a killed child; it said %q", r.fatal)
	}
}
