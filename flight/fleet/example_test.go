package fleet_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/redis/go-redis/v9"
)

// The examples run against the tests' Redis (see harness_test.go); in a
// service, rdb is the client it already has.

type User struct {
	ID   string
	Name string
}

// Example shows the basic use: one load per key for the whole fleet.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	users := fleet.New[User](rdb, fleet.WithPrefix("example-users"))
	defer users.Close()

	u, err, _ := users.Do(context.Background(), "7", func(ctx context.Context) (User, error) {
		// Runs once for all the concurrent callers of user 7, in every
		// process that shares this Redis and prefix.
		return User{ID: "7", Name: "Ada"}, nil
	})
	fmt.Println(u.Name, err)
	// Output: Ada <nil>
}

var ErrNoSuchUser = errors.New("no such user")

// ExampleWithErrors shows how errors.Is works for callers in other
// processes: the sentinel is registered under a name in every process.
func ExampleWithErrors() {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	errs := fleet.WithErrors(map[string]error{"no-such-user": ErrNoSuchUser})
	users := fleet.New[User](rdb, fleet.WithPrefix("example-errors"), errs)
	defer users.Close()

	_, err, _ := users.Do(context.Background(), "8", func(ctx context.Context) (User, error) {
		return User{}, fmt.Errorf("user 8: %w", ErrNoSuchUser)
	})
	// In this process err is fn's error; in another process it is a
	// *fleet.RemoteError that unwraps to the same registered sentinel.
	fmt.Println(errors.Is(err, ErrNoSuchUser))
	// Output: true
}

// ExampleGroup_Stats shows the counters: here one lead, and a fallback
// when Redis cannot be reached.
func ExampleGroup_Stats() {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	g := fleet.New[int](rdb, fleet.WithPrefix("example-stats"))
	defer g.Close()
	_, _, _ = g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	defer down.Close()
	local := fleet.New[int](down, fleet.WithPrefix("example-stats"))
	defer local.Close()
	v, err, _ := local.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })

	fmt.Printf("leads=%d\n", g.Stats().Leads)
	fmt.Printf("without Redis: %d %v fallbacks=%d\n", v, err, local.Stats().Fallbacks)
	// Output:
	// leads=1
	// without Redis: 2 <nil> fallbacks=1
}
