package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a benchmark or test leaves a goroutine behind:
// every crowd of callers must be stopped, and every peer's call must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
