package panics_test

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight/internal/panics"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStack(t *testing.T) {
	s := panics.Stack()
	if bytes.HasPrefix(s, []byte("goroutine ")) {
		t.Fatalf("stack still starts with the goroutine header: %.40q", s)
	}
	if !bytes.Contains(s, []byte("TestStack")) {
		t.Fatalf("stack lacks the caller's frame:\n%s", s)
	}
}
