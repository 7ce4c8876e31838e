// Package keys holds the rules for keys that cannot be map keys, for the
// packages that keep keys in maps of their own (batch, memo). Callers never
// import it.
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

// Checked reports whether keys of type t can be of either kind, and so
// must be checked one by one with SelfEqual. Blank struct fields are never
// compared and do not count.
func Checked(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && Checked(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.Name != "_" && Checked(f.Type) {
				return true
			}
		}
	}
	return false
}

// SelfEqual reports whether key is equal to itself. When key cannot be
// compared, and so cannot be hashed either, it panics with a message that
// starts with pkg and ": ".
func SelfEqual[K comparable](key K, pkg string) bool {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("%s: key cannot be hashed: %v", pkg, r))
		}
	}()
	return equal(key, key)
}

func equal[K comparable](a, b K) bool { return a == b }
