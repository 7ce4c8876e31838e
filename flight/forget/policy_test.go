package forget_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flightkit/flightkit/flight/forget"
)

var errBoom = errors.New("boom")

func TestPolicies(t *testing.T) {
	cases := []struct {
		name       string
		p          forget.Policy
		value, err time.Duration
	}{
		{"now", forget.Now(), 0, 0},
		{"after", forget.After(time.Second), time.Second, time.Second},
		{"split", forget.Split(time.Second, time.Millisecond), time.Second, time.Millisecond},
		{"func", forget.Func(func(err error) time.Duration {
			if errors.Is(err, errBoom) {
				return 3 * time.Second
			}
			return time.Minute
		}), time.Minute, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.value, tc.p.Retain(nil), "window for a value")
			assert.Equal(t, tc.err, tc.p.Retain(errBoom), "window for an error")
		})
	}
}

func TestNegativeWindowPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"after":        func() { forget.After(-1) },
		"split values": func() { forget.Split(-1, 0) },
		"split errors": func() { forget.Split(0, -1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				require.True(t, strings.HasPrefix(msg, "forget: "), "panic %q", msg)
			}()
			f()
			t.Fatal("no panic")
		})
	}
}
