// Package keys holds the rules for keys that cannot be map keys, for the
// packages that keep keys in maps of their own (flight, batch, memo).
// Callers never import it.
//
// Two kinds exist, both only for key types that hold floats or interfaces:
//
//   - A key that is not equal to itself (a float NaN, or a struct, array or
//     interface holding one) can be stored in a map but never found or
//     deleted again.
//   - A key that holds a value with no equality (an interface holding a
//     slice, map or func) cannot be hashed: any map operation with it
//     panics, and must not do so under a lock.
package keys

import (
	"fmt"
	"reflect"
)

// Class is what the values of a key type can be.
type Class uint8

// The classes of key types.
const (
	Plain Class = iota // every value equals itself and hashes: no check
	Float              // may hold a NaN: key != key tells, with no panic
	Any                // may also hold a value with no equality: SelfEqual
)

// Classify returns the class of key type t. Blank struct fields are never
// compared and do not count.
func Classify(t reflect.Type) Class {
	switch t.Kind() {
	case reflect.Interface:
		return Any
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return Float
	case reflect.Array:
		if t.Len() == 0 {
			return Plain
		}
		return Classify(t.Elem())
	case reflect.Struct:
		class := Plain
		for i := range t.NumField() {
			if f := t.Field(i); f.Name != "_" {
				class = max(class, Classify(f.Type))
			}
		}
		return class
	}
	return Plain
}

// Checked reports whether keys of type t can be of either kind, and so
// must be checked one by one with SelfEqual.
func Checked(t reflect.Type) bool { return Classify(t) != Plain }

// SelfEqual reports whether key is equal to itself. When key cannot be
// compared, and so cannot be hashed either, it panics with a message that
// starts with pkg and ": unhashable key".
func SelfEqual[K comparable](key K, pkg string) bool {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("%s: unhashable key of type %T (%v)", pkg, key, r))
		}
	}()
	return equal(key, key)
}

func equal[K comparable](a, b K) bool { return a == b }
