package fleet

import "encoding/json"

// Codec turns values into bytes and back, so that they can cross processes.
// Encode and Decode must be safe for concurrent use, and Decode must accept
// what Encode of every version of the service still running produces, or
// return an error: a value that fails to decode is a miss, never a value
// (see the package documentation).
type Codec[V any] interface {
	Encode(v V) ([]byte, error)
	Decode(b []byte) (V, error)
}

// JSON is the default [Codec]: encoding/json. Only exported fields cross.
type JSON[V any] struct{}

// Encode returns the JSON encoding of v.
func (JSON[V]) Encode(v V) ([]byte, error) { return json.Marshal(v) }

// Decode parses the JSON in b into a new V.
func (JSON[V]) Decode(b []byte) (V, error) {
	var v V
	err := json.Unmarshal(b, &v)
	return v, err
}
