package fleet

import (
	"encoding/binary"
	"errors"
	"time"
)

// An outcome crosses processes as a frame: the message finish publishes on a
// flight's channel, and (once retention exists) the value of its :out key.
// Version 1:
//
//	byte 0    frameVersion
//	byte 1    kind: 'V' value, 'E' error, 'R' released, 'M' miss
//	V and E:  uvarint  compute time of fn in microseconds (delta)
//	          uvarint  expiry, Unix milliseconds; 0 when not retained
//	V:        the rest is the codec's encoding of the value
//	E:        uvarint length, then the registered code of the error
//	          ("" when none matched); the rest is the error's message
//
// 'R' (the leader gave the lease up without an outcome: panic, Goexit,
// context error, abandoned) and 'M' (the leader's value cannot be shared:
// its encoding failed or is too large) are two bytes long. A reader treats
// any other version or kind, or a malformed frame, as a bad payload: a miss.
const frameVersion = 1

const (
	kindValue    = 'V'
	kindError    = 'E'
	kindReleased = 'R'
	kindMiss     = 'M'
)

// errBadFrame reports a frame this version cannot read.
var errBadFrame = errors.New("fleet: bad frame")

// frame is a decoded frame. body aliases the decoded bytes.
type frame struct {
	kind   byte
	delta  time.Duration // V, E: how long fn ran
	expiry time.Time     // V, E: end of the retention window; zero if none
	code   string        // E: the registered code of the error
	body   []byte        // V: the codec's bytes; E: the error message
}

// appendHeader appends the header of a V or E frame.
func appendHeader(b []byte, kind byte, delta time.Duration, expiry time.Time) []byte {
	b = append(b, frameVersion, kind)
	b = binary.AppendUvarint(b, uint64(max(delta, 0)/time.Microsecond))
	var ms uint64
	if !expiry.IsZero() {
		ms = uint64(max(expiry.UnixMilli(), 1))
	}
	return binary.AppendUvarint(b, ms)
}

// valueFrame returns a V frame holding the codec's bytes.
func valueFrame(payload []byte, delta time.Duration, expiry time.Time) []byte {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(payload))
	b = appendHeader(b, kindValue, delta, expiry)
	return append(b, payload...)
}

// errorFrame returns an E frame for an error with the given code and message.
func errorFrame(code, msg string, delta time.Duration, expiry time.Time) []byte {
	b := make([]byte, 0, 2+3*binary.MaxVarintLen64+len(code)+len(msg))
	b = appendHeader(b, kindError, delta, expiry)
	b = binary.AppendUvarint(b, uint64(len(code)))
	b = append(b, code...)
	return append(b, msg...)
}

// noticeFrame returns an R or M frame.
func noticeFrame(kind byte) []byte { return []byte{frameVersion, kind} }

// decodeFrame parses b. It never panics, whatever b holds.
func decodeFrame(b []byte) (frame, error) {
	if len(b) < 2 || b[0] != frameVersion {
		return frame{}, errBadFrame
	}
	f := frame{kind: b[1]}
	rest := b[2:]
	switch f.kind {
	case kindReleased, kindMiss:
		if len(rest) != 0 {
			return frame{}, errBadFrame
		}
		return f, nil
	case kindValue, kindError:
	default:
		return frame{}, errBadFrame
	}
	us, n := binary.Uvarint(rest)
	if n <= 0 || us > uint64(maxDelta/time.Microsecond) {
		return frame{}, errBadFrame
	}
	rest = rest[n:]
	f.delta = time.Duration(us) * time.Microsecond
	ms, n := binary.Uvarint(rest)
	if n <= 0 || ms > maxExpiryMs {
		return frame{}, errBadFrame
	}
	rest = rest[n:]
	if ms != 0 {
		f.expiry = time.UnixMilli(int64(ms))
	}
	if f.kind == kindError {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return frame{}, errBadFrame
		}
		f.code = string(rest[n : n+int(l)])
		rest = rest[n+int(l):]
	}
	f.body = rest
	return f, nil
}

// Bounds that keep decoded times meaningful: a compute time under a year,
// an expiry before the year 9999.
const (
	maxDelta    = 365 * 24 * time.Hour
	maxExpiryMs = 253402300799999
)
