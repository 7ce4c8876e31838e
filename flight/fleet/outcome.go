package fleet

import (
	"encoding/binary"
	"errors"
	"time"
)

// From fn's outcome to a frame (encode) and back (decode), with the codec
// for values and the registered names for errors (see frame.go for the
// frame itself).

// encode returns the frame that finish publishes for fn's outcome (a
// value, an error, or a miss notice when the value cannot be shared), its
// stamp, and how long Redis keeps it (0: not at all; see retain.go).
// keepOld keeps an error from replacing a retained value.
func (g *Group[V]) encode(v V, err error, delta time.Duration, keepOld bool) ([]byte, stamp, int64) {
	st, keep := g.stampFor(err, delta, keepOld)
	if err != nil {
		code := ""
		for _, e := range g.cfg.errs {
			if errors.Is(err, e.err) {
				code = e.name
				break
			}
		}
		msg := err.Error()
		if room := g.cfg.maxPayload - headerLen - binary.MaxVarintLen64 - len(code); len(msg) > room {
			msg = msg[:max(room, 0)]
		}
		return errorFrame(code, msg, st), st, keep
	}
	b, cerr := g.codec.Encode(v)
	if cerr == nil {
		if f := valueFrame(b, st); len(f) <= g.cfg.maxPayload {
			return f, st, keep
		}
	}
	g.st.badPayloads.Add(1)
	return noticeFrame(kindMiss), stamp{}, 0
}

// decode reads a frame from another process. kind is kindValue or
// kindError with the outcome, kindReleased, or kindMiss: the leader's miss
// notice, or a bad payload (too large, malformed, or not decodable by the
// codec), which is counted.
func (g *Group[V]) decode(s string) (kind byte, r result[V], err error) {
	if len(s) > g.cfg.maxPayload {
		g.st.badPayloads.Add(1)
		return kindMiss, r, nil
	}
	f, ferr := decodeFrame([]byte(s))
	if ferr != nil {
		g.st.badPayloads.Add(1)
		return kindMiss, r, nil
	}
	switch f.kind {
	case kindValue:
		v, derr := g.codec.Decode(f.body)
		if derr != nil {
			g.st.badPayloads.Add(1)
			return kindMiss, r, nil
		}
		return kindValue, result[V]{val: v, shared: true, st: f.stamp}, nil
	case kindError:
		return kindError, result[V]{shared: true, st: f.stamp},
			&RemoteError{Message: string(f.body), Code: f.code, sentinel: g.sentinels[f.code]}
	case kindMiss:
		g.st.badPayloads.Add(1)
	}
	return f.kind, r, nil
}

// arrived returns an outcome that reached s already, if any.
func (g *Group[V]) arrived(s *sub) (r result[V], err error, ok bool) {
	frames, _, _ := s.take()
	for _, f := range frames {
		if kind, r, err := g.decode(f); kind == kindValue || kind == kindError {
			return r, err, true
		}
	}
	return r, nil, false
}
