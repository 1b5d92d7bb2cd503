package httpflow

import "bytes"

// This file holds the byte-level grammar of RFC 9110 and RFC 9112 that the
// parser needs: tokens, start lines, versions. Everything works on byte
// slices and allocates nothing.

// tchar reports whether b may appear in a token (RFC 9110 section 5.6.2):
// method names and header field names.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// trimEOL removes the line ending: CRLF, or a bare LF (reported by the
// caller as the anomaly "bare_lf").
func trimEOL(line []byte) (content []byte, bareLF bool) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			return line[:n-1], false
		}
		return line[:n], true
	}
	return line, false
}

// trimOWS trims optional whitespace (SP and HTAB) on both sides.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func trimOWSString(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// httpVersion parses "HTTP/x.y" and returns the two digits.
func httpVersion(b []byte) (major, minor int, ok bool) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		b[5] < '0' || b[5] > '9' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false
	}
	return int(b[5] - '0'), int(b[7] - '0'), true
}

// requestLine is a parsed request-line (RFC 9112 section 3).
type requestLine struct {
	method, target, version []byte
}

// parseRequestLine parses "method SP request-target SP HTTP-version". A
// line cut by the line bound (truncated) keeps its method and the start of
// its target; its version is unknown. Any HTTP/x.y version is accepted here;
// callers decide which they take.
func parseRequestLine(line []byte, truncated bool) (r requestLine, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return r, false
	}
	r.method = line[:sp]
	rest := line[sp+1:]
	if truncated {
		r.target = rest
		return r, len(rest) > 0 && !hasCTL(rest)
	}
	last := bytes.LastIndexByte(rest, ' ')
	if last < 0 {
		return r, false // HTTP/0.9 "GET /" or garbage
	}
	if _, _, ok := httpVersion(rest[last+1:]); !ok {
		return r, false
	}
	r.version = rest[last+1:]
	r.target = bytes.TrimRight(rest[:last], " ")
	if len(r.target) == 0 {
		return r, false
	}
	for _, c := range r.target {
		if badTargetByte[c] {
			return r, false
		}
	}
	return r, true
}

// badTargetByte marks the bytes a request-target may not hold: controls
// other than HTAB, DEL (see hasCTL), and SP.
var badTargetByte = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = c != '\t'
	}
	t[0x7f], t[' '] = true, true
	return t
}()

// brokenRequestLine recognises a request line that does not parse but is
// plainly HTTP: a well-known method, a space, and a line ending in an
// HTTP/1.x version (for instance a target with spaces in it).
func brokenRequestLine(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	if _, known := internMethod(line[:sp]); !known || len(line) < sp+10 {
		return false
	}
	major, _, ok := httpVersion(line[len(line)-8:])
	return ok && major == 1 && line[len(line)-9] == ' '
}

// knownMethodSP reports a line that opens with a well-known method and a
// space.
func knownMethodSP(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	_, known := internMethod(line[:sp])
	return known
}

// hasCTL reports control bytes (other than HTAB) and DEL. Bytes >= 0x80 are
// not controls: they are kept raw.
func hasCTL(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// statusLine is a parsed status-line (RFC 9112 section 4).
type statusLine struct {
	version []byte
	status  int
	reason  []byte
	memo    bool // the direction's remembered status line (stream.newStatusLine)
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT [SP reason]". A missing reason
// phrase is accepted (it is optional in practice).
func parseStatusLine(line []byte) (s statusLine, ok bool) {
	if len(line) < 12 {
		return s, false
	}
	major, _, ok := httpVersion(line[:8])
	if !ok || major != 1 || line[8] != ' ' {
		return s, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return s, false
		}
		s.status = s.status*10 + int(c-'0')
	}
	if s.status < 100 {
		return s, false
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return s, false
		}
		s.reason = line[13:]
	}
	s.version = line[:8]
	return s, true
}

// couldStartRequest reports whether a partial line could still become a
// request line, or a line worth keeping as a malformed request: it must
// open with a token. Binary data fails at once; anything after the first
// space waits for the line end, so the decision never depends on how the
// bytes were split into segments.
func couldStartRequest(p []byte) bool {
	for i, c := range p {
		if c == ' ' {
			return i > 0
		}
		if !tchar[c] {
			return false
		}
	}
	return true
}

// couldStartStatus reports whether a partial line could still become a
// status line of HTTP/1.x.
func couldStartStatus(p []byte) bool {
	const prefix = "HTTP/1."
	n := min(len(p), len(prefix))
	return string(p[:n]) == prefix[:n]
}

// h2Preface is the client connection preface of HTTP/2 with prior knowledge
// (RFC 9113 section 3.4); its first line parses as a request line.
const h2Preface = "PRI * HTTP/2.0"

// looksLikeTLS reports a TLS record header: content type handshake (22) or,
// mid-stream, change_cipher_spec, alert or application_data, then major
// version 3.
func looksLikeTLS(p []byte, midStream bool) (yes, decided bool) {
	if len(p) == 0 {
		return false, false
	}
	if p[0] != 0x16 && (!midStream || p[0] < 0x14 || p[0] > 0x17) {
		return false, true
	}
	if len(p) < 2 {
		return false, false
	}
	if p[1] != 0x03 {
		return false, true
	}
	if p[0] == 0x16 {
		return true, true
	}
	return midStream && p[0] >= 0x14 && p[0] <= 0x17, true
}

// Common strings are interned so that a keep-alive-heavy capture does not
// allocate the same method or version for every message.
var internedMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH"}

func internMethod(b []byte) (string, bool) {
	for _, m := range internedMethods {
		if string(b) == m {
			return m, true
		}
	}
	return "", false
}

func internVersion(b []byte) (string, bool) {
	switch string(b) {
	case "HTTP/1.1":
		return "HTTP/1.1", true
	case "HTTP/1.0":
		return "HTTP/1.0", true
	}
	return "", false
}

// internReason interns the reason phrases servers send most.
func internReason(b []byte) (string, bool) {
	switch string(b) {
	case "OK":
		return "OK", true
	case "Not Modified":
		return "Not Modified", true
	case "No Content":
		return "No Content", true
	case "Not Found":
		return "Not Found", true
	case "Partial Content":
		return "Partial Content", true
	case "Continue":
		return "Continue", true
	}
	return "", false
}

// lowerToken returns the lower-cased token, interning the connection
// options that matter here (interned reports that the result is one of
// them, which shares no memory with s).
func lowerToken(s string) (low string, interned bool) {
	switch s { // as sent, usually
	case "keep-alive":
		return "keep-alive", true
	case "close":
		return "close", true
	}
	for _, k := range [...]string{"close", "keep-alive", "upgrade", "te"} {
		if len(s) == len(k) && equalFold(s, k) {
			return k, true
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return toLowerASCII(s), false
		}
	}
	return s, false
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// equalFold compares ASCII case-insensitively (header names are ASCII
// tokens; strings.EqualFold also folds Unicode, which is not wanted).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
