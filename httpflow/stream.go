package httpflow

import (
	"bytes"

	"github.com/connscope/connscope/reassembly"
)

// state is where a direction's parser stands in the message grammar.
type state uint8

const (
	stStart        state = iota // between messages: expecting a start line
	stHeaders                   // inside a header block
	stBodyLength                // Content-Length body: remaining bytes to come
	stChunkSize                 // expecting a chunk-size line
	stChunkData                 // inside chunk data: remaining bytes to come
	stChunkDataEnd              // expecting the CRLF that ends chunk data
	stTrailers                  // inside the trailer section of a chunked body
	stBodyClose                 // close-delimited body: everything until the close
	stResync                    // lost sync: scanning lines for the next start line
	stTunnel                    // not HTTP/1.x (any more): bytes are skipped
	stDone                      // the direction ended
)

// stream is the parser of one direction of a connection.
type stream struct {
	dir reassembly.Direction
	st  state

	// first holds the direction's first bytes, for protocol detection.
	first  [8]byte
	firstN int
	held   int // bytes of first not yet parsed (see Conn.Data)
	heldAt reassembly.Span

	// The line being assembled, in the line-oriented states. A line that
	// arrives whole in one Data call is parsed in place, without copying.
	line      []byte
	inLine    bool
	lineLen   int64 // bytes of the line so far, dropped ones included
	lineTrunc bool  // the line outgrew MaxHeaderBytes: the rest is dropped
	lineSkip  bool  // the line cannot be a start line: dropped to its end
	lineStart reassembly.Span
	lineOff   int64 // stream offset of the line's first byte
	pos       int64 // stream offset of the next byte to parse
	// lineMsg is the message an unfinished line was already given to (a
	// malformed start line recognised before its end): the rest of the
	// line's bytes count for it.
	lineMsg *Message
	// prevDone (client) is whether the previous transaction's response had
	// ended when this line's first byte arrived: false makes the request
	// pipelined.
	prevDone bool
	lastAt   reassembly.Span // the span of the last Data call

	msg       *Message // the message in progress, nil between messages
	box       *txnBox  // its transaction
	final     bool     // msg is a final response (not 1xx interim)
	remaining int64    // body or chunk bytes still to come
	blk       headerBlock
	names     nameMemo   // the field names of the direction's last header block
	memo      *blockMemo // the direction's last header block taken whole, from its second message on
	blkOpen   bool       // blk belongs to msg and is not turned into strings yet
	// trailersOpen: blk collects msg's trailer fields (chunked body).
	trailersOpen bool
	fi           framingInfo

	last        *Message // the last message that ended in this direction
	mayTunnel   bool     // client: after CONNECT or Upgrade, non-HTTP bytes are tunnel bytes
	tunnelAfter bool     // client: becomes a tunnel when the current message ends

	expressed int // messages taken by expressRequest or expressResponse (tests read it)

	// lastStatus[:lastStatusLen] is the last status line parseStatusLine
	// accepted in this direction (server), without its CRLF, when it fits,
	// and lastStatusCode its code (see stream.newStatusLine).
	lastStatus     [48]byte
	lastStatusLen  int
	lastStatusCode int
	// lastStatusVersion and lastStatusReason are the strings a response
	// with that line was given ("" until one was; see Conn.statusStrings).
	lastStatusVersion, lastStatusReason string

	total   int64 // bytes delivered
	skipped int64 // bytes that belonged to no message (tunnel, junk, lost sync)
}

func (s *stream) toTunnel() {
	if s.inLine && s.msg == nil && s.lineMsg == nil {
		s.skipped += s.lineLen // a partial line that will never be parsed
	}
	s.st = stTunnel
	s.inLine = false
	s.line = nil
}

// resync makes the direction scan for the next start line, unless it
// stopped carrying HTTP/1.x.
func (s *stream) resync() {
	if s.st != stTunnel && s.st != stDone {
		s.st = stResync
	}
}

func touch(m *Message, at reassembly.Span) {
	m.LastFrame, m.End = at.Frame, at.Time
}

// countBody counts n body bytes of the message in progress, delivered by
// the frame in at.
func (s *stream) countBody(n int64, at reassembly.Span) {
	s.msg.BodyBytes += n
	s.msg.WireBytes += n
	touch(s.msg, at)
}

// feed runs the state machine over newly delivered in-order bytes.
func (p *Conn) feed(s *stream, data []byte, at reassembly.Span) {
	s.lastAt = at
	end := at.Offset + int64(len(data)) // stream offset after data
	tried := false                      // startLineRun refused data's first line
	if s.st == stStart && !s.inLine && p.http1 {
		// A keep-alive connection's other common chunk starts with a
		// message: what the loop does first, without the loop.
		n := p.startLineRun(s, data, at, at.Offset)
		data = data[n:]
		if len(data) == 0 {
			return
		}
		tried = n == 0
	}
	if s.st == stBodyLength && int64(len(data)) <= s.remaining {
		// A keep-alive connection's commonest chunk, body bytes of a
		// Content-Length message not past its end: what the loop's
		// stBodyLength case does, without the loop.
		s.countBody(int64(len(data)), at)
		s.remaining -= int64(len(data))
		s.pos = end
		if s.remaining == 0 {
			p.finish(s)
		}
		return
	}
	for len(data) > 0 {
		switch s.st {
		case stTunnel, stDone:
			s.skipped += int64(len(data))
			s.pos = end
			return
		case stBodyLength, stChunkData:
			n := min(int64(len(data)), s.remaining)
			s.countBody(n, at)
			s.remaining -= n
			data = data[n:]
			s.pos = end - int64(len(data))
			if s.remaining == 0 {
				if s.st == stBodyLength {
					p.finish(s)
				} else {
					s.st = stChunkDataEnd
				}
			}
		case stBodyClose:
			s.countBody(int64(len(data)), at)
			s.pos = end
			return
		default:
			if s.st == stStart && !s.inLine && p.http1 && !tried {
				if n := p.startLineRun(s, data, at, end-int64(len(data))); n > 0 {
					data = data[n:]
					continue
				}
			}
			tried = false
			if s.st == stHeaders && !s.inLine {
				data = p.headerRun(s, data, at, end-int64(len(data)))
				if len(data) == 0 || s.st != stHeaders {
					continue
				}
			}
			if s.st == stResync && !p.appDecided {
				p.scanned += int64(len(data))
				if p.scanned > midStreamScanLimit {
					p.decide(AppUnknown)
					continue
				}
			}
			data = p.lineBytes(s, data, at, end-int64(len(data)))
		}
	}
}

// headerRun handles the header lines that lie whole in data, from its
// start, in one loop: a header block usually arrives in one segment, and
// its dozen lines need none of lineBytes' bookkeeping for a line that
// spans segments (nothing is copied, the line's start need not be
// remembered). It stops at the end of the block, at a line that is not
// whole in data or longer than MaxHeaderBytes, and returns the bytes it
// did not handle, for lineBytes.
func (p *Conn) headerRun(s *stream, data []byte, at reassembly.Span, off int64) []byte {
	m := s.msg
	touch(m, at)
	s.lineTrunc = false
	// A block that starts here may be the one the direction sent last
	// time (replayBlock), or one to remember (recordBlock).
	fresh := s.blk.freshBlock()
	if fresh {
		if n := p.replayBlock(s, data); n > 0 {
			off += int64(n)
			s.pos = off
			m.WireBytes += int64(n)
			m.HeaderBytes += int64(n)
			p.endHeaders(s) // what headerLine does at the blank line
			return data[n:]
		}
	}
	bufStart := len(s.blk.buf)
	for s.st == stHeaders && s.msg == m {
		if n := p.fieldLines(s, data); n > 0 {
			if fresh {
				p.recordBlock(s, data, n, bufStart)
			}
			data = data[n:]
			off += int64(n)
			s.pos = off
			m.WireBytes += int64(n)
			m.HeaderBytes += int64(n)
		}
		fresh = false
		i := bytes.IndexByte(data, '\n')
		if i < 0 || i >= p.cfg.MaxHeaderBytes {
			break
		}
		line := data[:i+1]
		data = data[i+1:]
		off += int64(len(line))
		s.pos = off
		m.WireBytes += int64(len(line))
		m.HeaderBytes += int64(len(line))
		p.headerLine(s, line, at)
	}
	return data
}

// partialCheckLimit bounds how much of an unfinished line is examined to
// reject it early as a start line; past it the line end is awaited, so
// one-byte segments cannot make the check quadratic.
const partialCheckLimit = 128

// lineBytes consumes data up to and including the next LF, assembling the
// current line, and handles the line when it is complete. It returns the
// bytes after the line.
func (p *Conn) lineBytes(s *stream, data []byte, at reassembly.Span, off int64) []byte {
	part, rest := data, []byte(nil)
	i := bytes.IndexByte(data, '\n')
	complete := i >= 0
	if complete {
		part, rest = data[:i+1], data[i+1:]
	}
	s.pos = off + int64(len(part))
	if !s.inLine {
		s.inLine = true
		s.lineStart = at
		s.lineOff = off
		s.lineLen = 0
		s.lineTrunc, s.lineSkip = false, false
		s.lineMsg = nil
		s.line = s.line[:0]
		if s.dir == reassembly.ClientToServer && s.msg == nil {
			lb := p.lastBox()
			s.prevDone = lb == nil || lb.responseDone
		}
	}
	before := len(s.line)
	s.lineLen += int64(len(part))
	if m := s.msg; m != nil {
		m.WireBytes += int64(len(part))
		if s.st == stHeaders {
			m.HeaderBytes += int64(len(part))
		}
		touch(m, at)
	} else if m := s.lineMsg; m != nil {
		m.WireBytes += int64(len(part))
		m.HeaderBytes += int64(len(part))
		touch(m, at)
		p.unsettled = true // an ended message's End moved (see settle)
	}
	var line []byte
	if !s.lineSkip {
		room := p.cfg.MaxHeaderBytes - len(s.line)
		switch {
		case complete && len(s.line) == 0 && !s.lineTrunc && len(part) <= room:
			line = part // the common case: the whole line in one segment
		case len(part) > room:
			s.line = append(s.line, part[:max(room, 0)]...)
			s.lineTrunc = true
			line = s.line
		default:
			s.line = append(s.line, part...)
			line = s.line
		}
	}
	if !complete {
		if (s.st == stStart || s.st == stResync) && !s.lineSkip && before < partialCheckLimit {
			p.checkPartial(s)
		}
		return rest
	}
	s.inLine = false
	switch s.st {
	case stStart, stResync:
		p.startLine(s, line, at)
	case stHeaders:
		p.headerLine(s, line, at)
	case stChunkSize:
		p.chunkSizeLine(s, line)
	case stChunkDataEnd:
		if c, _ := trimEOL(line); len(c) != 0 || s.lineTrunc {
			addAnomaly(s.msg, "bad_chunk_terminator")
			p.abort(s, IncompleteMalformed)
			s.resync()
		} else {
			s.st = stChunkSize
		}
	case stTrailers:
		p.trailerLine(s, line)
	}
	return rest
}

// checkPartial rejects an unfinished line that can no longer become a start
// line, so binary data is recognised without waiting for a line end.
func (p *Conn) checkPartial(s *stream) {
	head := s.line[:min(len(s.line), partialCheckLimit)]
	if string(head) == "\r" {
		return // perhaps an empty line between messages
	}
	var ok bool
	switch {
	case s.dir == reassembly.ClientToServer && !p.appDecided && s.st == stStart && len(p.boxes) == 0:
		// The first line: text, or a known method and a space, waits for
		// its line end (see startLine and notStart); binary is rejected now.
		ok = !hasCTL(bytes.TrimRight(head, "\r")) || knownMethodSP(head)
	case s.dir == reassembly.ClientToServer:
		ok = couldStartRequest(head)
	default:
		ok = couldStartStatus(head)
	}
	if ok {
		return
	}
	s.lineSkip = true
	if s.st == stStart && p.notStart(s, head) {
		s.lineMsg = s.last
	}
}
