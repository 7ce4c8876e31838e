package fleet

import (
	"encoding/binary"
	"errors"
	"time"
)

// An outcome crosses processes as a frame: the message finish publishes on a
// flight's channel, and the value of its :out key when it is retained.
// Version 1:
//
//	byte 0    frameVersion
//	byte 1    kind: 'V' value, 'E' error, 'R' released, 'M' miss
//	V and E:  uvarint  compute time of fn in microseconds (delta)
//	          uvarint  expiry, Unix milliseconds; 0 when not retained
//	          uvarint  retention window in milliseconds (the outcome was
//	                   stored at expiry - window); 0 when not retained
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
	kind byte
	stamp
	code string // E: the registered code of the error
	body []byte // V: the codec's bytes; E: the error message
}

// stamp is what the header of a V or E frame says about the outcome.
type stamp struct {
	delta  time.Duration // how long fn ran
	expiry time.Time     // end of the retention window; zero if none
	window time.Duration // the retention window; zero if none
}

// headerLen is the longest header of a V or E frame.
const headerLen = 2 + 3*binary.MaxVarintLen64

// appendHeader appends the header of a V or E frame.
func appendHeader(b []byte, kind byte, st stamp) []byte {
	b = append(b, frameVersion, kind)
	b = binary.AppendUvarint(b, uint64(max(st.delta, 0)/time.Microsecond))
	var ms, w uint64
	if !st.expiry.IsZero() {
		ms = uint64(max(st.expiry.UnixMilli(), 1))
		w = uint64(max(st.window, 0) / time.Millisecond)
	}
	b = binary.AppendUvarint(b, ms)
	return binary.AppendUvarint(b, w)
}

// valueFrame returns a V frame holding the codec's bytes.
func valueFrame(payload []byte, st stamp) []byte {
	b := make([]byte, 0, headerLen+len(payload))
	b = appendHeader(b, kindValue, st)
	return append(b, payload...)
}

// errorFrame returns an E frame for an error with the given code and message.
func errorFrame(code, msg string, st stamp) []byte {
	b := make([]byte, 0, headerLen+binary.MaxVarintLen64+len(code)+len(msg))
	b = appendHeader(b, kindError, st)
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
	w, n := binary.Uvarint(rest)
	if n <= 0 || w > uint64(maxWindow/time.Millisecond) || (ms == 0 && w != 0) {
		return frame{}, errBadFrame
	}
	rest = rest[n:]
	if ms != 0 {
		f.expiry = time.UnixMilli(int64(ms))
		f.window = time.Duration(w) * time.Millisecond
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
// an expiry before the year 9999, a window under a century.
const (
	maxDelta    = 365 * 24 * time.Hour
	maxExpiryMs = 253402300799999
	maxWindow   = 100 * 365 * 24 * time.Hour
)
