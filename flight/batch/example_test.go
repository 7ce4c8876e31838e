package batch_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flightkit/flightkit/flight/batch"
)

// usersTable stands in for a database table.
var usersTable = map[int]string{1: "alice", 2: "bob", 3: "carol"}

// queryUsers stands in for one SQL round trip:
// SELECT id, name FROM users WHERE id = ANY($1).
func queryUsers(_ context.Context, ids []int) (map[int]string, error) {
	rows := make(map[int]string, len(ids))
	for _, id := range ids {
		if name, ok := usersTable[id]; ok {
			rows[id] = name
		}
	}
	return rows, nil
}

// ExampleLoader shows a batched SQL-style fetch: three resolvers each load
// one user, and one query answers them all; a missing row is ErrNotFound.
// (The batch is full with three keys, so it starts without waiting for the
// rest of its window.)
func ExampleLoader() {
	var queries []string
	users := batch.New(func(ctx context.Context, ids []int) (map[int]string, error) {
		slices.Sort(ids) // fetch may reorder its keys
		queries = append(queries, fmt.Sprint("WHERE id = ANY(", ids, ")"))
		return queryUsers(ctx, ids)
	}, batch.WithWindow(time.Second), batch.WithMaxBatch(3))

	ctx := context.Background()
	names := make([]string, 3)
	var wg sync.WaitGroup
	for i, id := range []int{2, 1, 4} {
		wg.Go(func() {
			name, err := users.Load(ctx, id)
			if errors.Is(err, batch.ErrNotFound) {
				name = "(no such user)"
			}
			names[i] = name
		})
	}
	wg.Wait()
	fmt.Println(strings.Join(names, ", "))
	fmt.Println(queries)
	// Output:
	// bob, alice, (no such user)
	// [WHERE id = ANY([1 2 4])]
}

// ExampleLoader_LoadMany shows the Results of a LoadMany: one per key in
// order, duplicates included but fetched once, the values that loaded, and
// the keys that failed.
func ExampleLoader_LoadMany() {
	users := batch.New(func(ctx context.Context, ids []int) (map[int]string, error) {
		fmt.Println("query", ids)
		return queryUsers(ctx, ids)
	})
	rs := users.LoadMany(context.Background(), []int{3, 1, 9, 3})
	for _, r := range rs {
		fmt.Println(r.Key, r.Val, r.Err)
	}
	byID := maps.Collect(rs.Values())
	fmt.Println(len(byID), "users;", rs.Err())
	// Output:
	// query [3 1 9]
	// 3 carol <nil>
	// 1 alice <nil>
	// 9  batch: not found
	// 3 carol <nil>
	// 2 users; batch: 1 key failed: 9: batch: not found
}

// ExampleKeyErrors shows a fetch that fails some keys without failing the
// whole batch.
func ExampleKeyErrors() {
	errDenied := errors.New("permission denied")
	docs := batch.New(func(_ context.Context, ids []string) (map[string]string, error) {
		found := map[string]string{}
		denied := batch.KeyErrors[string]{}
		for _, id := range ids {
			if strings.HasPrefix(id, "secret") {
				denied[id] = errDenied
			} else {
				found[id] = "contents of " + id
			}
		}
		return found, denied
	})
	rs := docs.LoadMany(context.Background(), []string{"readme", "secret-plan"})
	fmt.Println(rs[0].Val)
	fmt.Println(errors.Is(rs[1].Err, errDenied))
	// Output:
	// contents of readme
	// true
}
