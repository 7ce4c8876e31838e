package fleet

import "strings"

// The Redis names one flight uses. This file is the only place that builds
// them, and docs/fleet.md carries the same table:
//
//	name                    type      written by                      lives
//	{<prefix>:<key>}:lease  string    acquire (SET NX PX), renew,     the lease TTL, renewed
//	                                  finish (DEL)                    every TTL/3 while fn runs
//	{<prefix>:<key>}:out    string    finish (SET PX), when the       the window; a value
//	                                  forget policy gives a window    longer (retain.go, keepFor)
//	{<prefix>:<key>}:done   channel   finish (PUBLISH or SPUBLISH)    -
//
// The whole "{<prefix>:<key>}" part is the Cluster hash tag, so the keys and
// the channel of one flight sit in one slot, which a script needs and which
// sharded pub/sub needs. Redis hashes the text between the first '{' and the
// first '}' after it: the prefix holds no brace (WithPrefix checks), so the
// tag is never empty; a key holding '}' cuts the tag short, the same way for
// all three names, so they still share a slot.

// flightNames are the Redis names of one flight.
type flightNames struct {
	lease   string // the lease: a random token, with the lease TTL
	out     string // a retained outcome frame (see frame.go)
	channel string // where finish publishes the outcome frame
}

// namesFor returns the names of key's flight under prefix. They are
// slices of one string, built with one allocation: this runs on every
// call that reaches Redis.
func namesFor(prefix, key string) flightNames {
	const lease, out, done = ":lease", ":out", ":done"
	tag := len(prefix) + len(key) + 3 // "{prefix:key}"
	var b strings.Builder
	b.Grow(3*tag + len(lease) + len(out) + len(done))
	for _, suffix := range [...]string{lease, out, done} {
		b.WriteByte('{')
		b.WriteString(prefix)
		b.WriteByte(':')
		b.WriteString(key)
		b.WriteByte('}')
		b.WriteString(suffix)
	}
	s := b.String()
	i, j := tag+len(lease), 2*tag+len(lease)+len(out)
	return flightNames{lease: s[:i], out: s[i:j], channel: s[j:]}
}

// validPrefix reports whether p can start a hash tag: not empty, no brace.
func validPrefix(p string) bool {
	return p != "" && !strings.ContainsAny(p, "{}")
}
