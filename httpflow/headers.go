package httpflow

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// headerBlock collects one message's start line and header fields, bounded
// by Config.MaxHeaderBytes and Config.MaxHeaders. Names and values are
// copied into one buffer, reused from message to message; when the block
// ends it becomes a single string that every Header slices, so a message
// costs one allocation for all its header text however many fields it has.
type headerBlock struct {
	buf    []byte
	fields []fieldRef
	// scratch is where buf and fields came from (nil until the first
	// reset), given back to scratchPool by release.
	scratch   *blockScratch
	start     [3]ref // request: method, target, version; response: version, reason
	truncated bool
	// lastStored says whether the last field line was stored, so that an
	// obs-fold continuation knows where its value goes.
	lastStored bool
	anyField   bool
}

type ref struct{ lo, hi int }

type fieldRef struct{ name, value ref }

// blockScratch is the reusable part of a headerBlock. Connections take one
// when their first message starts and give it back when their stream ends,
// so that many short connections share a few buffers. The same
// blockScratch goes back to the pool, so giving it back allocates nothing.
type blockScratch struct {
	buf    []byte
	fields []fieldRef
}

var scratchPool = sync.Pool{New: func() any {
	return &blockScratch{buf: make([]byte, 0, 2<<10), fields: make([]fieldRef, 0, 32)}
}}

// scratchMaxBytes and scratchMaxFields bound the buffers kept for reuse:
// a hostile message that made them bigger leaves them to the collector.
const (
	scratchMaxBytes  = 16 << 10
	scratchMaxFields = 1024
)

func (b *headerBlock) reset() {
	if cap(b.buf) > scratchMaxBytes || cap(b.fields) > scratchMaxFields {
		// A hostile message made them big: do not keep them.
		b.buf, b.fields = b.scratch.buf, b.scratch.fields
	}
	if b.scratch == nil {
		b.scratch = scratchPool.Get().(*blockScratch)
		b.buf, b.fields = b.scratch.buf, b.scratch.fields
	}
	b.buf = b.buf[:0]
	b.fields = b.fields[:0]
	b.start = [3]ref{}
	b.truncated = false
	b.lastStored = false
	b.anyField = false
}

// release gives the buffers back for other connections; the block must
// not be used again without reset.
func (b *headerBlock) release() {
	if sc := b.scratch; sc != nil {
		if cap(b.buf) <= scratchMaxBytes && cap(b.fields) <= scratchMaxFields {
			// Keep what the block grew to.
			sc.buf, sc.fields = b.buf[:0], b.fields[:0]
		}
		scratchPool.Put(sc)
	}
	*b = headerBlock{}
}

func (b *headerBlock) add(p []byte) ref {
	lo := len(b.buf)
	b.buf = append(b.buf, p...)
	return ref{lo, len(b.buf)}
}

// addField stores a field if it fits; it reports false when the bound was
// hit (the block is then marked truncated).
func (b *headerBlock) addField(name, value []byte, maxBytes, maxFields int) bool {
	b.anyField = true
	if len(b.fields) >= maxFields || len(b.buf)+len(name)+len(value) > maxBytes {
		b.truncated = true
		b.lastStored = false
		return false
	}
	b.fields = append(b.fields, fieldRef{b.add(name), b.add(value)})
	b.lastStored = true
	return true
}

// fold appends an obs-fold continuation to the last stored value, joined
// by one space (RFC 9112 section 5.2).
func (b *headerBlock) fold(cont []byte, maxBytes int) {
	if !b.lastStored || len(b.fields) == 0 {
		return
	}
	if len(b.buf)+1+len(cont) > maxBytes {
		b.truncated = true
		return
	}
	// The last value is at the end of buf: nothing was stored after it.
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, cont...)
	b.fields[len(b.fields)-1].value.hi = len(b.buf)
}

func (r ref) of(s string) string { return s[r.lo:r.hi] }

// startEnd returns where the start line's parts end in buf: they are
// added first, before any field.
func (b *headerBlock) startEnd() int {
	return max(b.start[0].hi, b.start[1].hi, b.start[2].hi)
}

// framingInfo gathers what the header fields say about body length.
type framingInfo struct {
	clSeen, clBad, clConflict bool
	cl                        int64
	teSeen, chunkedLast       bool
}

func (f *framingInfo) reset() { *f = framingInfo{} }

// interpret reads one header field into the message's connection
// management fields and the framing info. name and value are trimmed.
// With a slab, name and value are temporary (they alias a buffer that
// will be reused) and whatever the message keeps of them is copied into
// it; with nil they are kept as they are.
func interpret(m *Message, f *framingInfo, name, value string, mem *slab) {
	switch len(name) {
	case len("content-length"):
		if equalFold(name, "content-length") {
			f.contentLength(m, value)
		}
	case len("transfer-encoding"):
		if equalFold(name, "transfer-encoding") {
			f.teSeen = true
			last := value
			if i := strings.LastIndexByte(value, ','); i >= 0 {
				last = value[i+1:]
			}
			f.chunkedLast = equalFold(trimOWSString(last), "chunked")
		}
	case len("connection"):
		if equalFold(name, "connection") {
			for tok := range strings.SplitSeq(value, ",") {
				if tok = trimOWSString(tok); tok != "" {
					low, interned := lowerToken(tok)
					if !interned {
						low = mem.keep(low)
					}
					m.ConnectionTokens = append(m.ConnectionTokens, low)
				}
			}
		} else if equalFold(name, "keep-alive") {
			if m.KeepAlive == "" {
				m.KeepAlive = mem.keep(value)
			} else {
				m.KeepAlive += ", " + value
			}
			parseKeepAlive(m, value)
		}
	case len("proxy-connection"):
		if equalFold(name, "proxy-connection") {
			m.HasProxyConnection = true
			if m.ProxyConnection == "" {
				m.ProxyConnection = mem.keep(value)
			}
		}
	case len("expect"):
		if equalFold(name, "expect") {
			m.Expect = mem.keep(value)
		}
	case len("upgrade"):
		if equalFold(name, "upgrade") {
			m.Upgrade = mem.keep(value)
		}
	}
}

// contentLength reads a Content-Length value, which may be a list of
// identical values (RFC 9110 section 8.6). Identical repeats are accepted
// and noted as "repeated_content_length"; differing values are
// "conflicting_content_length" and the first is used; anything that is not
// a decimal number below 10^18 is "bad_content_length".
func (f *framingInfo) contentLength(m *Message, value string) {
	for v := range strings.SplitSeq(value, ",") {
		v = trimOWSString(v)
		n, ok := parseDecimal(v)
		if !ok {
			f.clBad = true
			addAnomaly(m, "bad_content_length")
			continue
		}
		if f.clSeen {
			if n != f.cl {
				f.clConflict = true
				addAnomaly(m, "conflicting_content_length")
			} else {
				addAnomaly(m, "repeated_content_length")
			}
			continue
		}
		f.clSeen, f.cl = true, n
	}
}

func parseDecimal(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseKeepAlive reads "timeout=5, max=100" (RFC 2068 section 19.7.1.1).
func parseKeepAlive(m *Message, value string) {
	for p := range strings.SplitSeq(value, ",") {
		k, v, ok := strings.Cut(trimOWSString(p), "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(trimOWSString(v), `"`))
		if err != nil || n < 0 {
			continue
		}
		switch {
		case equalFold(trimOWSString(k), "max"):
			m.KeepAliveMax = n
		case equalFold(trimOWSString(k), "timeout"):
			m.KeepAliveTimeout = n
		}
	}
}

// splitField splits "name: value". It reports the anomaly the line shows,
// if any.
func splitField(line []byte) (name, value []byte, anomaly string, ok bool) {
	// The usual line: a token right up to the colon, found in one pass
	// (':' is not a token byte, so it is the line's first colon).
	i := 0
	for i < len(line) && tchar[line[i]] {
		i++
	}
	if i > 0 && i < len(line) && line[i] == ':' {
		return line[:i], trimOWS(line[i+1:]), "", true
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, "bad_header_line", false
	}
	name = line[:colon]
	if n := trimOWS(name); len(n) != len(name) {
		// "Host : x" is a request-smuggling vector (RFC 9112 section 5.1).
		anomaly = "space_before_colon"
		name = n
	}
	if !isToken(name) {
		return nil, nil, "bad_header_line", false
	}
	return name, trimOWS(line[colon+1:]), anomaly, true
}

// addAnomaly records a key once per message.
func addAnomaly(m *Message, key string) {
	for _, a := range m.Anomalies {
		if a == key {
			return
		}
	}
	m.Anomalies = append(m.Anomalies, key)
}

// HasConnectionToken reports whether the message's Connection headers
// carry the option (compared case-insensitively).
func (m *Message) HasConnectionToken(option string) bool {
	for _, t := range m.ConnectionTokens {
		if equalFold(t, option) {
			return true
		}
	}
	return false
}

// Get returns the first value of the named header field (case-insensitive)
// among the stored headers, and whether it was present.
func (m *Message) Get(name string) (string, bool) {
	for _, h := range m.Headers {
		if equalFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}
