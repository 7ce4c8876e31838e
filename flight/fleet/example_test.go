package fleet_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/flightkit/flightkit/flight/fleet"
	"github.com/flightkit/flightkit/flight/forget"
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

// ExampleWithForget shows the outcome kept in Redis as the fleet's cache
// entry: a minute for a value, refreshed in the background before it
// expires, and served for ten minutes more, marked stale, when the backend
// fails after that. An HTTP handler can pass its age and staleness on.
func ExampleWithForget() {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	users := fleet.New[User](rdb, fleet.WithPrefix("example-"+rand.Text()),
		fleet.WithForget(forget.Split(time.Minute, 0)), // values a minute; errors are retried
		fleet.WithStaleIfError(10*time.Minute))
	defer users.Close()

	load := func(ctx context.Context) (User, error) {
		fmt.Println("loading user 7")
		return User{ID: "7", Name: "Ada"}, nil
	}
	for range 2 {
		r := users.DoResult(context.Background(), "7", load)
		fmt.Println(r.Val.Name, r.Err, "shared:", r.Shared, "stale:", r.Stale)
		// In a handler: w.Header().Set("Age", strconv.Itoa(int(r.Age.Seconds())))
		// and, when r.Stale, a Warning: 110 "Response is Stale".
	}
	// Output:
	// loading user 7
	// Ada <nil> shared: false stale: false
	// Ada <nil> shared: true stale: false
}
