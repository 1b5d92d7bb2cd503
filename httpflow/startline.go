package httpflow

// This file handles the lines where a message may start: request and
// status lines, what to do with bytes that are neither, and starting a
// message (which, for a response, pairs it with its request).

import (
	"bytes"

	"github.com/connscope/connscope/reassembly"
)

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
	s.resync()
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
			s.resync()
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
	s.resync()
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
