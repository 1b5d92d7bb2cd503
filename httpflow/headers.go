package httpflow

import (
	"bytes"
	"errors"
	"math"
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
	// obs-fold continuation knows where its value goes; lastCopied says
	// whether its text is in buf (see addField's copy).
	lastStored bool
	lastCopied bool
	anyField   bool
	// fastLines counts the field lines fieldLines took, the index of the
	// next one in nameMemo.
	fastLines int
	// uncopiedBytes and uncopiedFields count the fields stored without
	// their text (Config.DropHeaderFields keeps only the fields connection
	// management reads): the caps count them as if they were in buf.
	uncopiedBytes  int
	uncopiedFields int
}

type ref struct{ lo, hi int }

// fieldRef locates a stored field in headerBlock.buf. kind is what
// fieldKindOf said of its name when DropHeaderFields had it classified
// (fieldOther otherwise): closeBlock then interprets it without
// classifying it again.
type fieldRef struct {
	name, value ref
	kind        fieldKind
}

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
	b.lastStored, b.lastCopied = false, false
	b.anyField = false
	b.fastLines = 0
	b.uncopiedBytes, b.uncopiedFields = 0, 0
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
// hit (the block is then marked truncated). With copy false the field
// counts against both bounds exactly as if it had been stored, but its
// text is not copied and it gets no fieldRef: the caps, and so
// HeadersTruncated, come out the same whichever fields are copied. kind
// is kept with a copied field (see fieldRef).
func (b *headerBlock) addField(name, value []byte, maxBytes, maxFields int, copy bool, kind fieldKind) bool {
	b.anyField = true
	if !b.fits(name, value, maxBytes, maxFields) {
		b.truncated = true
		b.lastStored, b.lastCopied = false, false
		return false
	}
	if !copy {
		b.countField(name, value)
		return true
	}
	b.lastStored, b.lastCopied = true, true
	b.fields = append(b.fields, fieldRef{b.add(name), b.add(value), kind})
	return true
}

// fits reports whether a field stays within both caps, counting the
// fields and bytes stored without their text as if they were in buf.
func (b *headerBlock) fits(name, value []byte, maxBytes, maxFields int) bool {
	return len(b.fields)+b.uncopiedFields < maxFields && len(b.buf)+b.uncopiedBytes+len(name)+len(value) <= maxBytes
}

// countField is addField with copy false for a field that fits: it is
// counted against both caps, its text not copied.
func (b *headerBlock) countField(name, value []byte) {
	b.anyField = true
	b.lastStored, b.lastCopied = true, false
	b.uncopiedFields++
	b.uncopiedBytes += len(name) + len(value)
}

// addValue is addField, with DropHeaderFields, for a field interpret
// reads and that fits both caps: only its value is copied (closeBlock
// reads the kind, not the name), and the name counts against the byte cap
// as if it had been.
func (b *headerBlock) addValue(name, value []byte, kind fieldKind) {
	b.anyField = true
	b.lastStored, b.lastCopied = true, true
	b.uncopiedBytes += len(name)
	b.fields = append(b.fields, fieldRef{value: b.add(value), kind: kind})
}

// fold appends an obs-fold continuation to the last stored value, joined
// by one space (RFC 9112 section 5.2).
func (b *headerBlock) fold(cont []byte, maxBytes int) {
	if !b.lastStored {
		return
	}
	if len(b.buf)+b.uncopiedBytes+1+len(cont) > maxBytes {
		b.truncated = true
		return
	}
	if !b.lastCopied {
		b.uncopiedBytes += 1 + len(cont)
		return
	}
	// The last value is at the end of buf: nothing was copied after it.
	b.buf = append(b.buf, ' ')
	b.buf = append(b.buf, cont...)
	b.fields[len(b.fields)-1].value.hi = len(b.buf)
}

func (r ref) of(s string) string { return s[r.lo:r.hi] }

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
	interpretKind(m, f, fieldKindOf(name), value, mem)
}

// interpretKind is interpret for a field whose name was classified.
func interpretKind(m *Message, f *framingInfo, kind fieldKind, value string, mem *slab) {
	switch kind {
	case fieldContentLength:
		f.contentLength(m, value)
	case fieldTransferEncoding:
		f.teSeen = true
		last := value
		if i := strings.LastIndexByte(value, ','); i >= 0 {
			last = value[i+1:]
		}
		f.chunkedLast = equalFold(trimOWSString(last), "chunked")
	case fieldConnection:
		for rest, more := value, true; more; {
			var tok string
			tok, rest, more = cutComma(rest)
			if tok = trimOWSString(tok); tok != "" {
				low, interned := lowerToken(tok)
				if !interned {
					low = mem.keep(low)
				}
				m.ConnectionTokens = append(m.ConnectionTokens, low)
			}
		}
	case fieldKeepAlive:
		if x := mem.extra(m); x.KeepAlive == "" {
			x.KeepAlive = mem.keep(value)
		} else {
			x.KeepAlive += ", " + value
		}
		parseKeepAlive(m, value)
	case fieldProxyConnection:
		m.HasProxyConnection = true
		if x := mem.extra(m); x.ProxyConnection == "" {
			x.ProxyConnection = mem.keep(value)
		}
	case fieldExpect:
		mem.extra(m).Expect = mem.keep(value)
	case fieldUpgrade:
		mem.extra(m).Upgrade = mem.keep(value)
	}
}

// cutComma splits a list value at its first comma: the element before it,
// the rest after it, and whether there was a comma. Walking a value with
// it gives the elements strings.Split(value, ",") gives, empty ones
// included, without the iterator's calls.
func cutComma(s string) (elem, rest string, more bool) {
	if i := strings.IndexByte(s, ','); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// fieldKind names the header fields that interpret reads: framing and
// connection management. Every other field is fieldOther.
type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldKeepAlive
	fieldProxyConnection
	fieldExpect
	fieldUpgrade
)

// fieldKindOf recognises a field name by its length and first letter, then
// a case-insensitive compare: most names of a browser's dozen fields are
// ruled out by the first two tests alone.
func fieldKindOf(name string) fieldKind {
	if len(name) < 6 {
		return fieldOther
	}
	first := name[0] | 0x20 // lower case for letters (the only bytes tested against)
	switch len(name) {
	case len("expect"):
		if first == 'e' && nameIs(name, "expect") {
			return fieldExpect
		}
	case len("upgrade"):
		if first == 'u' && nameIs(name, "upgrade") {
			return fieldUpgrade
		}
	case len("connection"): // and keep-alive
		if first == 'c' && nameIs(name, "connection") {
			return fieldConnection
		}
		if first == 'k' && nameIs(name, "keep-alive") {
			return fieldKeepAlive
		}
	case len("content-length"):
		if first == 'c' && nameIs(name, "content-length") {
			return fieldContentLength
		}
	case len("proxy-connection"):
		if first == 'p' && nameIs(name, "proxy-connection") {
			return fieldProxyConnection
		}
	case len("transfer-encoding"):
		if first == 't' && nameIs(name, "transfer-encoding") {
			return fieldTransferEncoding
		}
	}
	return fieldOther
}

// nameIs compares s with lower, a name of lower-case letters and other
// bytes, ignoring the case of s's letters. For a letter of lower, s's byte
// with bit 0x20 set equals it exactly when the byte is that letter in
// either case; any other byte must be equal as it is.
func nameIs(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c, l := s[i], lower[i]
		if c != l && (l < 'a' || l > 'z' || c|0x20 != l) {
			return false
		}
	}
	return true
}

// contentLength reads a Content-Length value, which may be a list of
// identical values (RFC 9110 section 8.6). Identical repeats are accepted
// and noted as "repeated_content_length"; differing values are
// "conflicting_content_length" and the first is used; anything that is not
// a decimal number below 10^18 is "bad_content_length".
func (f *framingInfo) contentLength(m *Message, value string) {
	for rest, more := value, true; more; {
		var v string
		v, rest, more = cutComma(rest)
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
	for rest, more := value, true; more; {
		var param string
		param, rest, more = cutComma(rest)
		param = trimOWSString(param)
		eq := strings.IndexByte(param, '=')
		if eq < 0 {
			continue
		}
		k, v := param[:eq], param[eq+1:]
		digits := strings.Trim(trimOWSString(v), `"`)
		n, err := strconv.Atoi(digits)
		if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(digits, "-") {
			n, err = math.MaxInt32, nil // saturates: a Message keeps an int32
		}
		if err != nil || n < 0 {
			continue
		}
		n32 := int32(min(n, math.MaxInt32))
		switch {
		case equalFold(trimOWSString(k), "max"):
			m.KeepAliveMax = n32
		case equalFold(trimOWSString(k), "timeout"):
			m.KeepAliveTimeout = n32
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
	return splitFieldByRule(line)
}

// splitFieldByRule is splitField without its one-pass shortcut: the rule
// as RFC 9112 section 5 reads, for every line the shortcut does not take.
func splitFieldByRule(line []byte) (name, value []byte, anomaly string, ok bool) {
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
	for _, a := range m.Anomalies() {
		if a == key {
			return
		}
	}
	x := (*slab)(nil).extra(m) // rare: from the heap
	x.Anomalies = append(x.Anomalies, key)
}

// HasConnectionToken reports whether the message's Connection headers
// carry the option (compared case-insensitively).
func (m *Message) HasConnectionToken(option string) bool {
	for _, t := range m.ConnectionTokens {
		if len(t) == len(option) && (t == option || equalFold(t, option)) {
			return true
		}
	}
	return false
}

// Get returns the first value of the named header field (case-insensitive)
// among the stored headers, and whether it was present.
func (m *Message) Get(name string) (string, bool) {
	for _, h := range m.Headers() {
		if equalFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}
