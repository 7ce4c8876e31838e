package batch

import "iter"

// Result is the outcome of one key of a [Loader.LoadMany]: its value, or
// the error that it alone, its whole fetch, or the caller's context ended
// with. A key that fetch did not return has Err == [ErrNotFound].
type Result[K comparable, V any] struct {
	Key K
	Val V
	Err error
}

// Results holds one [Result] per key given to [Loader.LoadMany], in the same
// order, duplicates included. Index it, range over it, or use its methods.
type Results[K comparable, V any] []Result[K, V]

// Err returns nil when every key has a value. Otherwise it returns a
// [KeyErrors] that maps each failed key to its error, so errors.Is(rs.Err(),
// ErrNotFound) reports a missing key and errors.Is(rs.Err(),
// context.Canceled) a cancelled wait.
func (rs Results[K, V]) Err() error {
	var errs KeyErrors[K]
	for _, r := range rs {
		if r.Err != nil {
			if errs == nil {
				errs = make(KeyErrors[K])
			}
			errs[r.Key] = r.Err
		}
	}
	if errs == nil {
		return nil // not a nil KeyErrors in a non-nil error
	}
	return errs
}

// Values yields each key that has a value, with its value, in the order of
// rs (a duplicated key is yielded as often as it was asked for). Collect them
// with maps.Collect(rs.Values()).
func (rs Results[K, V]) Values() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, r := range rs {
			if r.Err == nil && !yield(r.Key, r.Val) {
				return
			}
		}
	}
}
