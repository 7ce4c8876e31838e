package flight

import (
	"fmt"
	"reflect"
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

// The classes of key types, in Group.keys. Zero means not classified yet.
const (
	keysUnknown uint32 = iota
	keysPlain          // every value equals itself and hashes: no check
	keysFloat          // may hold NaN: checked with key != key
	keysIface          // may hold an unhashable dynamic type, or NaN
)

// alone reports whether key must run alone because it is not equal to
// itself, and panics in the caller when key cannot be hashed. Call it before
// taking the group's mutex, as g.keys.Load() != keysPlain && g.alone(key),
// so that the common case stays one load and a branch.
func (g *Group[K, V]) alone(key K) bool {
	class := g.keys.Load()
	if class == keysUnknown {
		class = classify(reflect.TypeFor[K]())
		g.keys.Store(class)
	}
	switch class {
	case keysPlain:
		return false
	case keysFloat:
		return key != key
	}
	return !selfEqual(key)
}

// selfEqual reports whether key == key, turning the runtime's panic for a
// dynamic type that cannot be compared (and so cannot be hashed) into the
// package's own.
func selfEqual[K comparable](key K) bool {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("flight: unhashable key of type %T (%v)", key, r))
		}
	}()
	return key == key
}

// classify returns the class of type t.
func classify(t reflect.Type) uint32 {
	switch t.Kind() {
	case reflect.Interface:
		return keysIface
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return keysFloat
	case reflect.Array:
		if t.Len() == 0 {
			return keysPlain
		}
		return classify(t.Elem())
	case reflect.Struct:
		class := keysPlain
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue // blank fields are not compared
			}
			class = max(class, classify(f.Type))
		}
		return class
	}
	return keysPlain
}
