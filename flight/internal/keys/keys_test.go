package keys_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/flightkit/flightkit/flight/internal/keys"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestChecked(t *testing.T) {
	for _, tc := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[int](), false},
		{reflect.TypeFor[string](), false},
		{reflect.TypeFor[*float64](), false},
		{reflect.TypeFor[float32](), true},
		{reflect.TypeFor[complex128](), true},
		{reflect.TypeFor[any](), true},
		{reflect.TypeFor[[2]float64](), true},
		{reflect.TypeFor[[0]float64](), false},
		{reflect.TypeFor[struct{ A, B int }](), false},
		{reflect.TypeFor[struct {
			A int
			B [1]any
		}](), true},
		{reflect.TypeFor[struct {
			A int
			_ float64 // never compared
		}](), false},
	} {
		assert.Equal(t, tc.want, keys.Checked(tc.t), "%v", tc.t)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		t    reflect.Type
		want keys.Class
	}{
		{reflect.TypeFor[string](), keys.Plain},
		{reflect.TypeFor[float64](), keys.Float},
		{reflect.TypeFor[[3]complex64](), keys.Float},
		{reflect.TypeFor[any](), keys.Any},
		{reflect.TypeFor[struct {
			F float64
			A any
		}](), keys.Any},
		{reflect.TypeFor[struct {
			F float64
			_ any // never compared
		}](), keys.Float},
	} {
		assert.Equal(t, tc.want, keys.Classify(tc.t), "%v", tc.t)
	}
}

func TestSelfEqual(t *testing.T) {
	assert.True(t, keys.SelfEqual(1.5, "pkg"))
	assert.False(t, keys.SelfEqual(math.NaN(), "pkg"))
	assert.False(t, keys.SelfEqual[any](struct{ F float64 }{math.NaN()}, "pkg"))
	assert.True(t, keys.SelfEqual[any]("s", "pkg"))
	r := func() (r any) {
		defer func() { r = recover() }()
		keys.SelfEqual[any]([]int{1}, "pkg")
		return nil
	}()
	assert.Regexp(t, `^pkg: unhashable key of type \[\]int \(`, r)
}
