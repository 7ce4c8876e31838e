package fleet

import (
	"encoding/binary"
	"errors"
	"time"
)

// From fn's outcome to a frame (encode) and back (decode), with the codec
// for values and the registered names for errors (see frame.go for the
// frame itself).

// encode returns the frame that finish publishes for fn's outcome: a
// value, an error, or a miss notice when the value cannot be shared.
func (g *Group[V]) encode(v V, err error, delta time.Duration) []byte {
	if err != nil {
		code := ""
		for _, e := range g.cfg.errs {
			if errors.Is(err, e.err) {
				code = e.name
				break
			}
		}
		msg := err.Error()
		if room := g.cfg.maxPayload - 2 - 3*binary.MaxVarintLen64 - len(code); len(msg) > room {
			msg = msg[:max(room, 0)]
		}
		return errorFrame(code, msg, delta, time.Time{})
	}
	b, cerr := g.codec.Encode(v)
	if cerr == nil {
		if f := valueFrame(b, delta, time.Time{}); len(f) <= g.cfg.maxPayload {
			return f
		}
	}
	g.st.badPayloads.Add(1)
	return noticeFrame(kindMiss)
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
		return kindValue, result[V]{val: v, shared: true}, nil
	case kindError:
		return kindError, result[V]{shared: true},
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
