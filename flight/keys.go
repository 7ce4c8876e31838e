package flight

import (
	"reflect"

	"github.com/flightkit/flightkit/flight/internal/keys"
)

// Keys that cannot be used as map keys never reach the group's map (G11):
//
//   - A key whose hashing panics (an interface K holding a slice, a map or a
//     function, directly or inside a struct or array) would panic inside the
//     map operation with the group's mutex held and jam every key. Such a key
//     panics in its caller, before the lock, with a message that starts with
//     "flight:".
//   - A key that is not equal to itself (a float NaN, or a value holding
//     one) can be inserted into a map but never found or deleted again.
//     Such a call runs alone: fn runs for its caller only, its outcome is not
//     shared, and it is never registered.
//
// Most key types can hold neither, and for them the check costs one atomic
// load: the group classifies K once, on first use.

// The classes of key types, in Group.keys: keys.Classify's plus one, so
// that zero means not classified yet.
const (
	keysUnknown uint32 = 0
	keysPlain          = uint32(keys.Plain) + 1 // no check
	keysFloat          = uint32(keys.Float) + 1 // may hold NaN: key != key
	keysIface          = uint32(keys.Any) + 1   // may hold NaN or an unhashable value
)

// alone reports whether key must run alone because it is not equal to
// itself, and panics in the caller when key cannot be hashed. Call it before
// taking the group's mutex, as g.keys.Load() != keysPlain && g.alone(key),
// so that the common case stays one load and a branch.
func (g *Group[K, V]) alone(key K) bool {
	class := g.keys.Load()
	if class == keysUnknown {
		class = uint32(keys.Classify(reflect.TypeFor[K]())) + 1
		g.keys.Store(class)
	}
	switch class {
	case keysPlain:
		return false
	case keysFloat:
		return key != key
	}
	return !keys.SelfEqual(key, "flight")
}
