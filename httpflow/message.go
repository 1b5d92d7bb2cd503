package httpflow

// This file parses inside a message: header fields, the framing decision
// at the end of the header block, chunked bodies and their trailers.

import (
	"bytes"

	"github.com/connscope/connscope/reassembly"
)

// trailerLine handles one line of the trailer section that ends a chunked
// body (RFC 9112 section 7.1.2): fields kept in MessageExtra.Trailers within
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
	// Trailers are not interpreted: with DropHeaderFields nothing reads
	// their text, and only the caps are counted.
	if ok && !s.blk.addField(name, value, p.cfg.MaxHeaderBytes, p.cfg.MaxHeaders, !p.cfg.DropHeaderFields, fieldOther) {
		s.msg.HeadersTruncated = true
	}
}

// closeTrailers turns the trailer fields collected so far into
// MessageExtra.Trailers.
func (p *Conn) closeTrailers(s *stream) {
	if !s.trailersOpen {
		return
	}
	s.trailersOpen = false
	mem := p.fieldMem(s)
	if len(s.blk.fields) == 0 || p.cfg.DropHeaderFields || mem == nil {
		return
	}
	str := mem.string(s.blk.buf)
	m := s.msg
	trailers := mem.headerSlice(len(s.blk.fields))
	for i, f := range s.blk.fields {
		trailers[i] = Header{Name: f.name.of(str), Value: f.value.of(str)}
	}
	mem.extra(m).Trailers = trailers
}

// fieldMem is where a message's header block goes when its fields are kept
// (without DropHeaderFields): the connection's slab, or nil for a message
// whose transaction the connection does not keep (beyond
// MaxTransactionsPerConn or the Budget). Such a message is garbage once its
// successor no longer reads it, and nothing reads its field list or
// trailers: its text goes to the heap, for interpret and the start line,
// and it gets no list. In the slab, whose chunks live until the connection
// closes, a keep-alive connection far over the budget grew them to their
// largest and held them: a capture of many such connections held tens of
// megabytes of text nothing would read.
func (p *Conn) fieldMem(s *stream) *slab {
	if s.box != nil && !s.box.kept {
		return nil
	}
	return &p.mem
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
	// With DropHeaderFields only the fields interpret reads are copied
	// (closeBlock interprets them); the others are counted, not copied.
	kind := fieldOther
	if p.cfg.DropHeaderFields {
		kind = fieldKindOf(tempString(name))
	}
	keep := !p.cfg.DropHeaderFields || kind != fieldOther
	if !s.blk.addField(name, value, p.cfg.MaxHeaderBytes, p.cfg.MaxHeaders, keep, kind) {
		// Not stored, but connection management still depends on it.
		m.HeadersTruncated = true
		interpret(m, &s.fi, string(name), string(value), nil)
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
		if m.Upgrade() != "" || b.connect {
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
			s.resync()
			return
		case fi.clBad && !fi.clSeen:
			p.abort(s, IncompleteMalformed)
			s.resync()
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
	if s.blk.truncated {
		m.HeadersTruncated = true
	}
	if p.cfg.DropHeaderFields {
		// Only the start line's text is kept, and of it only what is not
		// one of the interned methods, versions and reasons: usually the
		// target alone.
		b := &s.blk
		part := func(r ref) []byte { return b.buf[r.lo:r.hi] }
		if s.dir == reassembly.ClientToServer {
			if v, ok := internMethod(part(b.start[0])); ok {
				m.Method = v
			} else {
				m.Method = p.mem.string(part(b.start[0]))
			}
			m.Target = p.mem.string(part(b.start[1]))
			m.Version = p.internedOrKept(part(b.start[2]), internVersion)
		} else {
			m.Version = p.internedOrKept(part(b.start[0]), internVersion)
			m.Reason = p.internedOrKept(part(b.start[1]), internReason)
		}
		for _, f := range b.fields {
			interpretKind(m, &s.fi, f.kind, tempString(part(f.value)), &p.mem)
		}
	} else {
		mem := p.fieldMem(s)
		str := mem.string(s.blk.buf)
		if n := len(s.blk.fields); n > 0 && mem != nil {
			headers := mem.headerSlice(n)
			for i, f := range s.blk.fields {
				headers[i] = Header{Name: f.name.of(str), Value: f.value.of(str)}
			}
			mem.extra(m).Headers = headers
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
		// The fields in order, from the list when there is one: a message
		// the connection does not keep gets none, as nothing reads it.
		for _, f := range s.blk.fields {
			interpret(m, &s.fi, f.name.of(str), f.value.of(str), nil)
		}
	}
	if s.fi.clSeen {
		m.DeclaredLength = s.fi.cl
	}
}

// internedOrKept returns the interned string for b when intern knows it,
// and otherwise a copy of b in the connection's slab.
func (p *Conn) internedOrKept(b []byte, intern func([]byte) (string, bool)) string {
	if v, ok := intern(b); ok {
		return v
	}
	return p.mem.string(b)
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
		s.resync()
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
