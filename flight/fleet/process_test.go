package fleet_test

import (
	"fmt"
	"os"
)

// workerEnv names the role of a worker process (see TestMain).
const workerEnv = "FLEET_WORKER"

// runWorker runs this binary as a worker of a multi-process test.
func runWorker(role string) int {
	fmt.Fprintln(os.Stderr, "unknown worker role", role)
	return 2
}
