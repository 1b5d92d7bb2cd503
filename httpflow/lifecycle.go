package httpflow

// This file ends messages (normally, early, or because of a gap or the
// end of the stream) and opens tunnels.

import (
	"github.com/connscope/connscope/reassembly"
)

// finish ends the current message normally.
func (p *Conn) finish(s *stream) {
	if s.msg.Incomplete == IncompleteNone {
		s.msg.Complete = true
	}
	p.done(s)
}

// abort ends the current message early, for the given reason (the first
// reason found is kept: a message that lost bytes to a gap and was then cut
// by a RST stays "gap").
func (p *Conn) abort(s *stream, why Incomplete) {
	m := s.msg
	if m == nil {
		return
	}
	if m.Incomplete == IncompleteNone {
		m.Incomplete = why
	}
	m.Complete = false
	p.done(s)
}

// done is the bookkeeping shared by every end of a message.
func (p *Conn) done(s *stream) {
	// Both return at once when nothing is open (the express paths closed
	// the block already): tested here, as the calls cost more than that.
	if s.blkOpen {
		p.closeBlock(s)
	}
	if s.trailersOpen {
		p.closeTrailers(s)
	}
	b := s.box
	tunnel := false
	if s.dir == reassembly.ServerToClient && s.final {
		b.responseDone = true
		tunnel = b.t.Tunnel
		if s.msg.Complete || (s.msg.Incomplete == IncompleteGap && s.remaining == 0 && s.st == stBodyLength) {
			b.respEnd = s.pos
		}
	}
	if s.inLine && s.lineMsg == nil {
		// The message ended inside a line (a gap or the end of the
		// stream): that line's bytes are the message's.
		s.lineMsg = s.msg
	}
	s.last = s.msg
	s.msg, s.box, s.final = nil, nil, false
	s.st = stStart
	if s.tunnelAfter {
		s.toTunnel()
	}
	if tunnel {
		p.openTunnel(b)
	}
	p.settle()
}

// openTunnel handles CONNECT 2xx or 101: from the byte after the request
// that asked for it, both directions carry another protocol. Requests the
// client sent after that one were tunnel bytes, not HTTP: they are
// forgotten and their bytes counted as skipped.
func (p *Conn) openTunnel(b *txnBox) {
	p.streams[reassembly.ServerToClient].toTunnel()
	c := &p.streams[reassembly.ClientToServer]
	// A request of an earlier transaction still in progress: the
	// response that switched is one whose request was not captured
	// (a gap), so the client's bytes in flight are that earlier
	// request's, not the tunnel's.
	earlier := c.msg != nil && c.box != nil && c.box != b && c.box.t.Index < b.t.Index
	if b.kept {
		kept := p.boxes[:b.t.Index-p.base+1]
		for _, later := range p.boxes[b.t.Index-p.base+1:] {
			if q := later.t.Request; q != nil {
				c.skipped += q.WireBytes
				continue
			}
			// A response whose request was not captured stays.
			later.t.Index = p.base + len(kept)
			kept = append(kept, later)
		}
		clear(p.boxes[len(kept):])
		p.boxes = kept
	}
	p.clearPending()
	switch {
	case c.msg == nil:
		c.toTunnel()
	case earlier:
		// It goes on to its end (or is marked incomplete by the close,
		// as any message is), and the tunnel starts after it.
		c.tunnelAfter = true
	case c.box != b:
		// A later request in progress: its bytes so far were counted above.
		c.msg, c.box, c.blkOpen, c.trailersOpen = nil, nil, false, false
		c.inLine = false
		c.toTunnel()
	default:
		// The request itself is still being sent (a body).
		c.tunnelAfter = true
	}
}

// gap handles bytes of the direction that were never captured.
func (p *Conn) gap(s *stream, size int64, at reassembly.Span) {
	from := s.pos
	s.pos += size
	if s.dir == reassembly.ServerToClient {
		p.noteServerGap(from, s.pos)
	}
	switch s.st {
	case stTunnel, stDone:
		return
	case stBodyClose:
		markGap(s.msg)
		return
	case stBodyLength, stChunkData:
		// The framing is known, so a gap inside the body costs bytes but
		// not sync.
		markGap(s.msg)
		if size < s.remaining {
			s.remaining -= size
			return
		}
		if size == s.remaining {
			s.remaining = 0
			if s.st == stBodyLength {
				p.done(s)
			} else {
				s.st = stChunkDataEnd
			}
			return
		}
		if s.st == stBodyLength && s.final {
			// The gap ran past the body's end, which is known.
			s.box.respEnd = from + s.remaining
		}
		p.abort(s, IncompleteGap)
	case stStart, stResync:
		p.dropLine(s, IncompleteGap)
	default:
		p.abort(s, IncompleteGap)
	}
	s.inLine = false
	s.line = s.line[:0]
	s.resync()
}

func markGap(m *Message) {
	if m.Incomplete == IncompleteNone {
		m.Incomplete = IncompleteGap
	}
	m.Complete = false
}

// end handles the end of the direction's byte stream.
func (p *Conn) end(s *stream, why Incomplete, at reassembly.Span) {
	switch s.st {
	case stDone:
		return
	case stBodyClose:
		if why == IncompleteFIN {
			// The close is the end of a close-delimited body.
			p.finish(s)
		} else {
			p.abort(s, why)
		}
	case stStart, stResync:
		p.dropLine(s, why)
	case stTunnel:
	default:
		p.abort(s, why)
	}
	s.st = stDone
	s.inLine = false
	s.line = nil
	s.blk.release()
}
