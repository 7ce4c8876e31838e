package memo_test

import (
	"context"
	"fmt"
	"time"

	"github.com/flightkit/flightkit/flight/forget"
	"github.com/flightkit/flightkit/flight/memo"
)

type User struct{ Name string }

// ExampleCache shows a value kept for a minute, refreshed in the background
// before the minute ends, and served for ten more minutes, marked stale,
// if the backend fails after it.
func ExampleCache() {
	users := memo.New[string, User](forget.Split(time.Minute, 0), // values a minute; errors are retried
		memo.WithStaleIfError(10*time.Minute))
	defer users.Close()

	load := func(ctx context.Context) (User, error) {
		fmt.Println("loading user 7")
		return User{Name: "Ada"}, nil
	}
	for range 2 {
		r := users.DoResult(context.Background(), "7", load)
		fmt.Println(r.Val.Name, r.Err, "shared:", r.Shared, "stale:", r.Stale)
	}
	// Output:
	// loading user 7
	// Ada <nil> shared: false stale: false
	// Ada <nil> shared: true stale: false
}
