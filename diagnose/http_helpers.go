package diagnose

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/english"
)

// idempotentMethods are the methods a client may repeat without changing
// the outcome (RFC 9110 section 9.2.2, RFC 4918 for WebDAV).
var idempotentMethods = []string{
	"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "UNLOCK", "SEARCH", "REPORT",
}

// idempotent reports whether method may be repeated safely. Methods are
// case-sensitive (RFC 9110 section 9.1).
func idempotent(method string) bool { return slices.Contains(idempotentMethods, method) }

// hasToken reports whether a message's Connection header lists token
// (tokens are lower-cased by httpflow).
func hasToken(m *msgRec, token string) bool {
	return m != nil && slices.Contains(m.ConnectionTokens(), token)
}

// refusalKind says how persistence was refused; its String is the
// phrase findings use ("" for refusalNone).
type refusalKind uint8

const (
	refusalNone refusalKind = iota
	refusalClientClose
	refusalClientHTTP10
	refusalServerClose
	refusalServerHTTP10
	refusalCloseDelimited
)

var refusalText = [...]string{
	refusalNone:           "",
	refusalClientClose:    "the client sent Connection: close",
	refusalClientHTTP10:   "the client spoke HTTP/1.0 without Connection: keep-alive",
	refusalServerClose:    "the server sent Connection: close",
	refusalServerHTTP10:   "the server answered HTTP/1.0 without Connection: keep-alive",
	refusalCloseDelimited: "the server sent a close-delimited body (no Content-Length, not chunked)",
}

func (r refusalKind) String() string {
	if int(r) < len(refusalText) {
		return refusalText[r]
	}
	return ""
}

// persistenceRefusal says which side refused to keep a connection open
// after t and how, or refusalNone when neither did by header or framing.
func persistenceRefusal(t *txnRec) refusalKind {
	req, resp := t.Request(), t.Response()
	switch {
	case hasToken(req, "close"):
		return refusalClientClose
	case req != nil && req.Version() == "HTTP/1.0" && !hasToken(req, "keep-alive"):
		return refusalClientHTTP10
	case hasToken(resp, "close"):
		return refusalServerClose
	case resp != nil && resp.Version() == "HTTP/1.0" && !hasToken(resp, "keep-alive"):
		return refusalServerHTTP10
	case resp != nil && resp.Framing == httpflow.FramingCloseDelimited:
		return refusalCloseDelimited
	}
	return refusalNone
}

// firstFrame returns a message's first frame, 0 for a missing message.
func firstFrame(m *msgRec) uint64 {
	if m == nil {
		return 0
	}
	return m.FirstFrame
}

// maxQuoted bounds how much captured text a message repeats.
const maxQuoted = 80

// quote renders captured text safely: escaped like strconv.Quote, and cut
// to maxQuoted bytes (on a rune boundary) with "..." after the quote.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// requestLine names a transaction's request for a message: `"GET" "/x"`.
func requestLine(t *txnRec) string {
	if t == nil || t.Request() == nil {
		return "a request"
	}
	return quote(t.Request().Method()) + " " + quote(t.target)
}

// ms formats nanoseconds as milliseconds for messages: "40.2 ms".
func ms(ns int64) string {
	v := float64(ns) / 1e6
	switch {
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10 || v <= -10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// byteCount is "1 byte" or "N bytes".
func byteCount[N int | int64 | uint32](n N) string { return plural(int(n), "byte", "bytes") }

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// listOrdinals lists at most n positions as ordinals ("2nd, 3rd and 4th"),
// saying how many more there were.
func listOrdinals(xs []int, n int) string {
	shown := make([]string, 0, min(len(xs), n))
	for _, x := range xs[:min(len(xs), n)] {
		shown = append(shown, english.Ordinal(x))
	}
	if len(xs) > n {
		return fmt.Sprintf("%s and %d more", strings.Join(shown, ", "), len(xs)-n)
	}
	if k := len(shown); k > 1 {
		return strings.Join(shown[:k-1], ", ") + " and " + shown[k-1]
	}
	return strings.Join(shown, "")
}

// joinIntsWith joins numbers with sep.
func joinIntsWith(xs []int, sep string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, sep)
}
