package flight_test

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"

	"github.com/flightkit/flightkit/flight"
)

// BenchmarkDoCosts measures, in one run, a Do and two costs that the
// group's design declined to add to every Do (docs/design.md and
// [flight.Group.OldestCall] quote the ratios):
//
//	op=do     one Do on a key nobody else wants (bench's Do/keys=distinct)
//	op=hash   maphash.Comparable of the same 8-byte key: what picking a
//	          shard would add to each call of a sharded group
//	op=clock  time.Now: what stamping each call with its start would add
//
// Compare within one run: go test -run='^$' -bench=DoCosts -count=10 | benchstat -col /op -
func BenchmarkDoCosts(b *testing.B) {
	keys := make([]string, 1<<12)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%04d", i)
	}
	mask := len(keys) - 1
	b.Run("op=do", func(b *testing.B) {
		b.ReportAllocs()
		var g flight.Group[string, int]
		fn := func() (int, error) { return 1, nil }
		i := 0
		for b.Loop() {
			g.Do(keys[i&mask], fn)
			i++
		}
	})
	b.Run("op=hash", func(b *testing.B) {
		b.ReportAllocs()
		seed := maphash.MakeSeed()
		var sum uint64
		i := 0
		for b.Loop() {
			sum += maphash.Comparable(seed, keys[i&mask])
			i++
		}
		sink = sum
	})
	b.Run("op=clock", func(b *testing.B) {
		b.ReportAllocs()
		var t time.Time
		for b.Loop() {
			t = time.Now()
		}
		sink = uint64(t.UnixNano())
	})
}

var sink uint64
