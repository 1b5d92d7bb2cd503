package httpflow

import (
	"bytes"

	"github.com/connscope/connscope/capture"
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
	blkOpen   bool // blk belongs to msg and is not turned into strings yet
	// trailersOpen: blk collects msg's trailer fields (chunked body).
	trailersOpen bool
	fi           framingInfo

	last        *Message // the last message that ended in this direction
	mayTunnel   bool     // client: after CONNECT or Upgrade, non-HTTP bytes are tunnel bytes
	tunnelAfter bool     // client: becomes a tunnel when the current message ends

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

func touch(m *Message, at reassembly.Span) {
	m.LastFrame, m.End = at.Frame, at.Time
}

// feed runs the state machine over newly delivered in-order bytes.
func (p *Conn) feed(s *stream, data []byte, at reassembly.Span) {
	s.lastAt = at
	end := at.Offset + int64(len(data)) // stream offset after data
	for len(data) > 0 {
		switch s.st {
		case stTunnel, stDone:
			s.skipped += int64(len(data))
			s.pos = end
			return
		case stBodyLength, stChunkData:
			n := min(int64(len(data)), s.remaining)
			s.msg.BodyBytes += n
			s.msg.WireBytes += n
			touch(s.msg, at)
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
			n := int64(len(data))
			s.msg.BodyBytes += n
			s.msg.WireBytes += n
			touch(s.msg, at)
			s.pos = end
			return
		default:
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
			s.st = stResync
		} else {
			s.st = stChunkSize
		}
	case stTrailers:
		p.trailerLine(s, line)
	}
	return rest
}

// trailerLine handles one line of the trailer section that ends a chunked
// body (RFC 9112 section 7.1.2): fields kept in Message.Trailers within
// the same bounds as headers, until the blank line that ends the message.
func (p *Conn) trailerLine(s *stream, line []byte) {
	c, _ := trimEOL(line)
	if len(c) == 0 && !s.lineTrunc {
		p.finish(s)
		return
	}
	if s.lineTrunc || c[0] == ' ' || c[0] == '\t' {
		s.msg.HeadersTruncated = s.msg.HeadersTruncated || s.lineTrunc
		return
	}
	name, value, anomaly, ok := splitField(c)
	if anomaly != "" {
		addAnomaly(s.msg, anomaly)
	}
	if ok && !s.blk.addField(name, value, p.cfg.MaxHeaderBytes, p.cfg.MaxHeaders) {
		s.msg.HeadersTruncated = true
	}
}

// closeTrailers turns the trailer fields collected so far into
// Message.Trailers.
func (p *Conn) closeTrailers(s *stream) {
	if !s.trailersOpen {
		return
	}
	s.trailersOpen = false
	if len(s.blk.fields) == 0 {
		return
	}
	str := p.mem.string(s.blk.buf)
	m := s.msg
	m.Trailers = p.mem.headerSlice(len(s.blk.fields))
	for i, f := range s.blk.fields {
		m.Trailers[i] = Header{Name: f.name.of(str), Value: f.value.of(str)}
	}
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

// startLine handles a complete line where a message may start.
func (p *Conn) startLine(s *stream, line []byte, at reassembly.Span) {
	if s.lineSkip {
		if s.lineMsg == nil {
			s.skipped += s.lineLen
		}
		return
	}
	content, bare := trimEOL(line)
	if len(content) == 0 && !s.lineTrunc {
		// Empty lines between messages are tolerated (RFC 9112 section 2.2).
		s.skipped += s.lineLen
		return
	}
	if s.dir == reassembly.ClientToServer {
		r, ok := parseRequestLine(content, s.lineTrunc)
		if ok && r.version != nil {
			if major, _, _ := httpVersion(r.version); major != 1 {
				if !p.appDecided && string(content) == h2Preface {
					p.decide(AppHTTP2)
					return
				}
				ok = false
			}
		}
		if ok {
			p.decide(AppHTTP1)
			if p.app == AppHTTP1 {
				p.beginRequest(s, r, bare, at)
				return
			}
		} else if !p.appDecided && brokenRequestLine(content) {
			// Plainly HTTP, with a broken request line: notStart keeps it
			// as a malformed request.
			p.decide(AppHTTP1)
		}
	} else if st, ok := parseStatusLine(content); ok {
		p.decide(AppHTTP1)
		if p.app == AppHTTP1 {
			p.beginResponse(s, st, bare, at)
			return
		}
	}
	if s.st == stStart && p.notStart(s, content) {
		return
	}
	s.skipped += s.lineLen
}

// notStart handles bytes at a message boundary that do not start a message.
// It reports whether it kept them as a (malformed) message.
func (p *Conn) notStart(s *stream, content []byte) bool {
	if !p.appDecided {
		if s.dir == reassembly.ClientToServer && len(p.boxes) == 0 && !s.lineSkip && !hasCTL(content) {
			// A first line of text that is not a valid request line: keep
			// it as a malformed request but let the server decide. An HTTP
			// status line in answer (typically 400) makes the connection
			// HTTP/1.x; anything else makes it unknown.
			p.malformedRequest(s, content)
			return true
		}
		// The connection's first bytes are not HTTP/1.x.
		p.decide(AppUnknown)
		return false
	}
	if s.st == stTunnel || s.st == stDone {
		return false
	}
	s.st = stResync
	if s.dir == reassembly.ClientToServer {
		if s.mayTunnel {
			// Bytes after CONNECT or Upgrade that are not a request: the
			// client already speaks the tunnelled protocol.
			s.toTunnel()
			return false
		}
		if sp := bytes.IndexByte(content, ' '); sp > 0 && isToken(content[:sp]) {
			// A broken request line: keep it as a malformed request, since
			// the server will most likely answer it.
			p.malformedRequest(s, content)
			return true
		}
	} else {
		if bytes.HasPrefix(content, []byte("HTTP/")) || (s.last == nil && p.waiting() > 0) {
			key := "bad_status_line"
			if s.last == nil && !bytes.HasPrefix(content, []byte("HTTP/")) {
				key = "not_http_response"
			}
			p.beginResponse(s, statusLine{}, false, s.lastAt)
			addAnomaly(s.msg, key)
			p.abort(s, IncompleteMalformed)
			s.st = stResync
			return true
		}
	}
	if s.last != nil {
		if s.last.Framing == FramingContentLength {
			addAnomaly(s.last, "body_beyond_content_length")
		} else {
			addAnomaly(s.last, "stray_bytes_after_message")
		}
	}
	return false
}

// malformedRequest keeps a line that should have been a request line as a
// malformed request (anomaly "bad_request_line"), reading what it can: the
// leading token as the method, a trailing " HTTP/x.y" as the version, the
// rest as the target. The lines after it are skipped up to the next valid
// start line.
func (p *Conn) malformedRequest(s *stream, content []byte) {
	var r requestLine
	n := 0
	for n < len(content) && tchar[content[n]] {
		n++
	}
	r.method = content[:n]
	rest := bytes.TrimSpace(content[n:])
	if len(rest) >= 8 {
		if _, _, ok := httpVersion(rest[len(rest)-8:]); ok && (len(rest) == 8 || rest[len(rest)-9] == ' ') {
			r.version = rest[len(rest)-8:]
			rest = bytes.TrimSpace(rest[:len(rest)-8])
		}
	}
	r.target = rest
	p.beginRequest(s, r, false, s.lastAt)
	addAnomaly(s.msg, "bad_request_line")
	p.abort(s, IncompleteMalformed)
	s.st = stResync
}

// beginRequest opens a transaction for a request line.
func (p *Conn) beginRequest(s *stream, r requestLine, bareLF bool, at reassembly.Span) {
	b := p.newBox()
	m := &b.req
	newMessage(m, b.reqTok[:])
	b.t.Request = m
	b.head = string(r.method) == "HEAD"
	b.connect = string(r.method) == "CONNECT"
	b.t.Pipelined = !s.prevDone
	b.reqOff = s.lineOff
	b.cliAck = p.ackedAt(reassembly.ClientToServer, s.lineStart.Frame)
	p.pending = append(p.pending, b)
	p.beginMessage(s, m, b, at)
	s.blk.start[0] = s.blk.add(r.method)
	s.blk.start[1] = s.blk.add(r.target)
	s.blk.start[2] = s.blk.add(r.version)
	if s.lineTrunc {
		addAnomaly(m, "start_line_too_long")
	}
	if bareLF {
		addAnomaly(m, "bare_lf")
	}
}

// beginResponse pairs a status line with the oldest request still waiting
// for its final response. A 1xx (other than 101) is interim: it joins the
// request's Interim list and the request keeps waiting. A response with no
// waiting request (its request was not captured) gets a transaction whose
// Request is nil.
func (p *Conn) beginResponse(s *stream, st statusLine, bareLF bool, at reassembly.Span) {
	interim := st.status >= 100 && st.status < 200 && st.status != 101
	p.skipLostResponses(s.lineOff)
	var b *txnBox
	if p.waiting() > 0 && startedBefore(p.oldest(), s.lineStart.Frame) && p.serverHadRequest(p.oldest(), s.lineStart.Frame) {
		b = p.oldest()
	} else {
		b = p.newBox()
		if p.waiting() > 0 {
			// Its request was not captured and was sent before every
			// request still waiting: its transaction goes before theirs.
			p.moveBefore(b, p.oldest())
		}
		if interim {
			// The final response comes first too.
			p.pushFront(b)
		}
	}
	var m *Message
	if interim {
		m = new(Message)
		newMessage(m, nil)
		b.t.Interim = append(b.t.Interim, m)
	} else {
		m = &b.resp
		newMessage(m, b.respTok[:])
		b.t.Response = m
		if p.waiting() > 0 && p.oldest() == b {
			p.popPending()
		}
	}
	s.final = !interim
	m.Status = st.status
	p.beginMessage(s, m, b, at)
	s.blk.start[0] = s.blk.add(st.version)
	s.blk.start[1] = s.blk.add(st.reason)
	if s.lineTrunc {
		addAnomaly(m, "start_line_too_long")
	}
	if bareLF {
		addAnomaly(m, "bare_lf")
	}
}

// serverHadRequest reports whether the server could have received the
// start of b's request when it sent the segment (frame) that carried a
// response's first byte: that segment's acknowledgment number says how
// many client bytes the server had. A response sent before the server had
// any of the oldest waiting request answers a request the capture lost (a
// gap in the client's stream), so it must not take that request's place
// and shift every later pair. Without the segment's record, the answer is
// yes.
func (p *Conn) serverHadRequest(b *txnBox, frame uint64) bool {
	acked := p.ackedAt(reassembly.ServerToClient, frame)
	if acked < 0 || b.t.Request == nil {
		return true
	}
	return seqBefore(b.reqOff, acked)
}

// ackedAt returns how many bytes of the other direction the sender in
// direction d had received when it sent frame: the segment's relative
// acknowledgment number minus one (the SYN counts one). It returns -1 when
// the segment's record is not at hand or carries no acknowledgment. The
// value is a 32-bit sequence distance: compare it with seqBefore.
func (p *Conn) ackedAt(d reassembly.Direction, frame uint64) int64 {
	if p.conn == nil {
		return -1
	}
	segs := p.conn.Segments
	for i := len(segs) - 1; i >= 0 && i >= len(segs)-256; i-- {
		r := &segs[i]
		if r.Frame != frame {
			continue
		}
		if r.Dir != d || !capture.TCPFlags(r.Flags).Has(capture.FlagACK) || r.Kind&reassembly.KindCaptureDuplicate != 0 {
			return -1
		}
		return int64(r.Ack - 1)
	}
	return -1
}

// seqBefore reports whether stream offset a comes before b, comparing in
// 32-bit sequence space as acknowledgment numbers do (RFC 9293 section
// 3.4), so that streams longer than 4 GiB compare right.
func seqBefore(a, b int64) bool { return int32(uint32(b)-uint32(a)) > 0 }

// skipLostResponses handles a status line found at server stream offset
// off while the oldest waiting request has no response yet. When the next
// request was sent after the client had received more of the server's
// stream than when it sent the oldest one, and those bytes fell into a
// capture gap, then the oldest request's response began inside the gap
// and was lost whole: that request gets no response (anomaly
// "response_lost_in_gap") instead of taking this one and shifting every
// later pair.
func (p *Conn) skipLostResponses(off int64) {
	for p.waiting() >= 2 {
		b, next := p.oldest(), p.pending[p.pendHead+1]
		if len(b.t.Interim) > 0 || b.t.Request == nil || b.cliAck < 0 || next.cliAck < 0 {
			return
		}
		if !seqBefore(b.cliAck, next.cliAck) || seqBefore(off, next.cliAck) || !p.serverGapWithin(b.cliAck, next.cliAck) {
			return
		}
		addAnomaly(b.t.Request, "response_lost_in_gap")
		b.responseDone = true
		// It ended before the next request, as far as the client's
		// acknowledgments tell.
		b.respEnd = next.cliAck
		p.popPending()
	}
}

// noteServerGap remembers a gap in the server's stream (the most recent
// ones only).
func (p *Conn) noteServerGap(from, to int64) {
	if len(p.serverGaps) == cap(p.serverGaps) && len(p.serverGaps) >= 16 {
		copy(p.serverGaps, p.serverGaps[1:])
		p.serverGaps = p.serverGaps[:len(p.serverGaps)-1]
	}
	p.serverGaps = append(p.serverGaps, [2]int64{from, to})
}

// serverGapWithin reports whether a remembered server gap overlaps the
// stream range [from, to).
func (p *Conn) serverGapWithin(from, to int64) bool {
	for _, g := range p.serverGaps {
		if seqBefore(g[0], to) && seqBefore(from, g[1]) {
			return true
		}
	}
	return false
}

// startedBefore reports whether a waiting transaction's request began
// before frame: a response cannot answer a request sent after it began.
func startedBefore(b *txnBox, frame uint64) bool {
	q := b.t.Request
	return q == nil || q.FirstFrame < frame
}

func (p *Conn) beginMessage(s *stream, m *Message, b *txnBox, at reassembly.Span) {
	s.msg, s.box = m, b
	m.FirstFrame, m.Start = s.lineStart.Frame, s.lineStart.Time
	m.HeaderBytes, m.WireBytes = s.lineLen, s.lineLen
	touch(m, at)
	s.blk.reset()
	s.blkOpen = true
	s.fi.reset()
	s.st = stHeaders
}

// headerLine handles one complete line of a header block.
func (p *Conn) headerLine(s *stream, line []byte, at reassembly.Span) {
	m := s.msg
	content, bare := trimEOL(line)
	if bare {
		addAnomaly(m, "bare_lf")
	}
	if len(content) == 0 && !s.lineTrunc {
		p.endHeaders(s)
		return
	}
	if s.lineTrunc {
		addAnomaly(m, "header_line_too_long")
		m.HeadersTruncated = true
	}
	if content[0] == ' ' || content[0] == '\t' {
		// Obsolete line folding (RFC 9112 section 5.2): the line continues
		// the previous field's value.
		addAnomaly(m, "obs_fold")
		s.blk.fold(trimOWS(content), p.cfg.MaxHeaderBytes)
		return
	}
	name, value, anomaly, ok := splitField(content)
	if anomaly != "" {
		addAnomaly(m, anomaly)
	}
	if !ok {
		return
	}
	if !s.blk.addField(name, value, p.cfg.MaxHeaderBytes, p.cfg.MaxHeaders) {
		// Not stored, but connection management still depends on it.
		m.HeadersTruncated = true
		interpret(m, &s.fi, string(name), string(value))
	}
}

// endHeaders turns the header block into strings and decides how the body
// is framed (RFC 9112 section 6.3).
func (p *Conn) endHeaders(s *stream) {
	m, b := s.msg, s.box
	p.closeBlock(s)
	fi := &s.fi
	if fi.teSeen && (fi.clSeen || fi.clBad) {
		// Transfer-Encoding overrides Content-Length (RFC 9112 section
		// 6.3), but a message with both is a smuggling vector.
		addAnomaly(m, "te_and_cl")
	}
	if s.dir == reassembly.ClientToServer {
		if m.Upgrade != "" || b.connect {
			s.mayTunnel = true
		}
		switch {
		case fi.teSeen && fi.chunkedLast:
			m.Framing = FramingChunked
		case fi.teSeen:
			// A request whose final coding is not chunked has no knowable
			// length (RFC 9112 section 6.3 rule 4).
			addAnomaly(m, "bad_transfer_encoding")
			p.abort(s, IncompleteMalformed)
			s.st = stResync
			return
		case fi.clBad && !fi.clSeen:
			p.abort(s, IncompleteMalformed)
			s.st = stResync
			return
		case fi.clSeen:
			m.Framing = FramingContentLength
		}
	} else {
		switch status := m.Status; {
		case status == 101 || (b.connect && status >= 200 && status < 300):
			m.Framing = FramingTunnel
			b.t.Tunnel = true
		case status < 200:
		case b.head, status == 204, status == 304:
			// No body by rule, whatever the headers say.
		case fi.teSeen && fi.chunkedLast:
			m.Framing = FramingChunked
		case fi.teSeen:
			m.Framing = FramingCloseDelimited
		case fi.clSeen:
			m.Framing = FramingContentLength
		default:
			m.Framing = FramingCloseDelimited
		}
	}
	if s.final {
		b.respHeaders = true
	}
	switch m.Framing {
	case FramingContentLength:
		if fi.cl == 0 {
			p.finish(s)
			return
		}
		s.remaining = fi.cl
		s.st = stBodyLength
	case FramingChunked:
		s.st = stChunkSize
	case FramingCloseDelimited:
		s.st = stBodyClose
	default:
		p.finish(s)
	}
}

// closeBlock turns the header block collected so far into the message's
// strings (one allocation for all of them) and interprets the fields. It
// runs at the blank line that ends the block, or when the message ends
// before it.
func (p *Conn) closeBlock(s *stream) {
	if !s.blkOpen {
		return
	}
	s.blkOpen = false
	m := s.msg
	str := p.mem.string(s.blk.buf)
	if n := len(s.blk.fields); n > 0 {
		m.Headers = p.mem.headerSlice(n)
		for i, f := range s.blk.fields {
			m.Headers[i] = Header{Name: f.name.of(str), Value: f.value.of(str)}
		}
	}
	if s.blk.truncated {
		m.HeadersTruncated = true
	}
	if s.dir == reassembly.ClientToServer {
		method := s.blk.start[0]
		if v, ok := internMethod(s.blk.buf[method.lo:method.hi]); ok {
			m.Method = v
		} else {
			m.Method = method.of(str)
		}
		m.Target = s.blk.start[1].of(str)
		m.Version = versionString(s.blk.buf, str, s.blk.start[2])
	} else {
		m.Version = versionString(s.blk.buf, str, s.blk.start[0])
		m.Reason = s.blk.start[1].of(str)
	}
	for _, h := range m.Headers {
		interpret(m, &s.fi, h.Name, h.Value)
	}
	if s.fi.clSeen {
		m.DeclaredLength = s.fi.cl
	}
}

func versionString(buf []byte, str string, r ref) string {
	if v, ok := internVersion(buf[r.lo:r.hi]); ok {
		return v
	}
	return r.of(str)
}

// chunkSizeLine handles "chunk-size [; extensions] CRLF" (RFC 9112
// section 7.1).
func (p *Conn) chunkSizeLine(s *stream, line []byte) {
	m := s.msg
	content, bare := trimEOL(line)
	if bare {
		addAnomaly(m, "bare_lf")
	}
	if i := bytes.IndexByte(content, ';'); i >= 0 {
		content = content[:i]
	}
	n, ok := parseHex(trimOWS(content))
	if !ok || s.lineTrunc {
		addAnomaly(m, "bad_chunk_size")
		p.abort(s, IncompleteMalformed)
		s.st = stResync
		return
	}
	if n == 0 {
		s.st = stTrailers
		s.blk.reset()
		s.trailersOpen = true
		return
	}
	s.remaining = n
	s.st = stChunkData
}

// parseHex parses a chunk size; more than 15 hex digits would overflow
// int64 and is rejected.
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(v)
	}
	return n, true
}

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
	p.closeBlock(s)
	p.closeTrailers(s)
	b := s.box
	tunnel := false
	if s.dir == reassembly.ServerToClient && s.final {
		b.responseDone = true
		tunnel = b.t.Tunnel
		if s.msg.Complete || (s.msg.Incomplete == IncompleteGap && s.remaining == 0 && s.st == stBodyLength) {
			b.respEnd = s.pos
		}
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
}

// openTunnel handles CONNECT 2xx or 101: from the byte after the request
// that asked for it, both directions carry another protocol. Requests the
// client sent after that one were tunnel bytes, not HTTP: they are
// forgotten and their bytes counted as skipped.
func (p *Conn) openTunnel(b *txnBox) {
	p.streams[reassembly.ServerToClient].toTunnel()
	c := &p.streams[reassembly.ClientToServer]
	if b.kept {
		kept := p.boxes[:b.t.Index+1]
		for _, later := range p.boxes[b.t.Index+1:] {
			if q := later.t.Request; q != nil {
				c.skipped += q.WireBytes
				continue
			}
			// A response whose request was not captured stays.
			later.t.Index = len(kept)
			kept = append(kept, later)
		}
		clear(p.boxes[len(kept):])
		p.boxes = kept
	}
	p.clearPending()
	switch {
	case c.msg == nil:
		c.toTunnel()
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
	if s.st != stTunnel {
		s.st = stResync
	}
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
	s.blk = headerBlock{}
}

// dropLine handles an unfinished line where a message may start, when a gap
// or the end of the stream cuts it: kept as an incomplete message if it is
// recognisable, skipped otherwise.
func (p *Conn) dropLine(s *stream, why Incomplete) {
	if !s.inLine || s.lineMsg != nil {
		return
	}
	if s.lineSkip || !p.partialStart(s, why) {
		s.skipped += s.lineLen
	}
}

// partialStart keeps a start line that a gap or the end of the stream cut
// before its line end, as an incomplete message, when enough of it arrived
// to recognise it (a method and a space; a version and a status code).
func (p *Conn) partialStart(s *stream, why Incomplete) bool {
	content, _ := trimEOL(s.line)
	if p.appDecided && p.app != AppHTTP1 {
		return false
	}
	if s.dir == reassembly.ClientToServer {
		r, ok := parseRequestLine(content, true)
		if !ok {
			return false
		}
		if _, known := internMethod(r.method); !known && !p.appDecided {
			return false
		}
		p.decide(AppHTTP1)
		p.beginRequest(s, r, false, s.lastAt)
	} else {
		if len(content) < 12 {
			return false
		}
		st, ok := parseStatusLine(content[:12])
		if !ok {
			return false
		}
		p.decide(AppHTTP1)
		p.beginResponse(s, st, false, s.lastAt)
	}
	p.abort(s, why)
	return true
}
