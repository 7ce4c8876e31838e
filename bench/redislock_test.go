package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// lockPoll is the baseline: the pattern most teams write by hand to share
// one computation across processes, as kozhurkin/singleflight's redis
// group does. A caller looks for the result (GET); on a miss it takes a
// lock (SET NX PX); the lock holder runs fn, stores the result with a TTL
// and drops the lock (one pipeline). The others poll GET for the result
// every poll interval until it appears or the lock is gone. The lock is
// not renewed, and an error is not stored: the followers poll until the
// lock runs out, then try for it themselves.
type lockPoll[V any] struct {
	rdb       *redis.Client
	prefix    string
	lockTTL   time.Duration
	resultTTL time.Duration
	poll      time.Duration
}

func newLockPoll[V any](rdb *redis.Client, prefix string) *lockPoll[V] {
	return &lockPoll[V]{rdb: rdb, prefix: prefix, lockTTL: 2 * time.Second,
		resultTTL: 5 * time.Second, poll: 50 * time.Millisecond}
}

// do returns the stored result for key, or runs fn under the lock, or
// polls for the lock holder's result. led reports whether fn ran here.
func (l *lockPoll[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, led bool, err error) {
	resKey, lockKey := l.prefix+":result:"+key, l.prefix+":lock:"+key
	var tick *time.Ticker
	for {
		b, err := l.rdb.Get(ctx, resKey).Bytes()
		if err == nil {
			return v, false, json.Unmarshal(b, &v)
		}
		if !errors.Is(err, redis.Nil) {
			return v, false, err
		}
		tok := rand.Text()
		ok, err := l.rdb.SetNX(ctx, lockKey, tok, l.lockTTL).Result()
		if err != nil {
			return v, false, err
		}
		if ok {
			v, err := fn(ctx)
			pipe := l.rdb.TxPipeline()
			if err == nil {
				b, _ := json.Marshal(v)
				pipe.Set(ctx, resKey, b, l.resultTTL)
			}
			pipe.Del(ctx, lockKey)
			_, perr := pipe.Exec(ctx)
			return v, true, errors.Join(err, perr)
		}
		if tick == nil {
			tick = time.NewTicker(l.poll)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return v, false, ctx.Err()
		}
	}
}
