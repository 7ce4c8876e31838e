package batch

import (
	"fmt"
	"reflect"
)

// Keys that cannot be used as map keys must never reach the loader's maps
// under its lock (issue 10, items 1 and 2). Two kinds exist, both only for
// key types that hold floats or interfaces:
//
//   - A key that is not equal to itself (a float NaN, or a struct, array or
//     interface holding one) is never found again once stored: it is fetched
//     in a batch of its own, for its caller alone, and never stored.
//   - A key that holds a value with no equality (an interface holding a
//     slice, map or func) cannot be hashed: the load panics in its caller,
//     before taking the lock.

// mustCheck reports whether keys of type t can be of either kind, and so
// must be checked one by one.
func mustCheck(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && mustCheck(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if mustCheck(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// selfEqual reports whether key is equal to itself. It panics with a
// message that starts with "batch: " when key cannot be compared, and so
// cannot be hashed either.
func selfEqual[K comparable](key K) bool {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("batch: key cannot be hashed: %v", r))
		}
	}()
	return equal(key, key)
}

func equal[K comparable](a, b K) bool { return a == b }
