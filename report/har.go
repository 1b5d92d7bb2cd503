package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// HAROptions tune WriteHAR. The zero value gives the defaults.
type HAROptions struct {
	// CreatorVersion is written as log.creator.version (the connscope
	// version); "dev" when empty.
	CreatorVersion string
	// Indent pretty-prints the document with two-space indentation.
	Indent bool
}

// The HAR 1.2 object model (http://www.softwareishard.com/blog/har-12-spec/),
// with only the fields connscope can fill. Field order follows the spec.
// The document and its log (harDoc, harLog in the tests) are never built:
// harStream writes them around the entries.
type (
	// harPage stands for one input: HAR viewers group entries by page.
	// Comment carries the input's error and warnings (limits reached),
	// when it has any.
	harPage struct {
		StartedDateTime string         `json:"startedDateTime"`
		ID              string         `json:"id"`
		Title           string         `json:"title"`
		PageTimings     harPageTimings `json:"pageTimings"`
		Comment         string         `json:"comment,omitempty"`
	}
	harPageTimings struct {
		OnContentLoad float64 `json:"onContentLoad"`
		OnLoad        float64 `json:"onLoad"`
	}
	harCreator struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	harEntry struct {
		PageRef         string      `json:"pageref,omitempty"`
		StartedDateTime string      `json:"startedDateTime"`
		Time            float64     `json:"time"`
		Request         harRequest  `json:"request"`
		Response        harResponse `json:"response"`
		Cache           struct{}    `json:"cache"`
		Timings         harTimings  `json:"timings"`
		ServerIPAddress string      `json:"serverIPAddress,omitempty"`
		Connection      string      `json:"connection"`
		Comment         string      `json:"comment,omitempty"`
	}
	harRequest struct {
		Method      string      `json:"method"`
		URL         string      `json:"url"`
		HTTPVersion string      `json:"httpVersion"`
		Cookies     []harCookie `json:"cookies"`
		Headers     []harNV     `json:"headers"`
		QueryString []harNV     `json:"queryString"`
		HeadersSize int64       `json:"headersSize"`
		BodySize    int64       `json:"bodySize"`
		Comment     string      `json:"comment,omitempty"`
	}
	harResponse struct {
		Status      int         `json:"status"`
		StatusText  string      `json:"statusText"`
		HTTPVersion string      `json:"httpVersion"`
		Cookies     []harCookie `json:"cookies"`
		Headers     []harNV     `json:"headers"`
		Content     harContent  `json:"content"`
		RedirectURL string      `json:"redirectURL"`
		HeadersSize int64       `json:"headersSize"`
		BodySize    int64       `json:"bodySize"`
		Comment     string      `json:"comment,omitempty"`
	}
	harNV struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	// harCookie is a cookie sent in a Cookie header (name and value only)
	// or set by a Set-Cookie header (with the attributes HAR has fields for).
	harCookie struct {
		Name     string `json:"name"`
		Value    string `json:"value"`
		Path     string `json:"path,omitempty"`
		Domain   string `json:"domain,omitempty"`
		Expires  string `json:"expires,omitempty"`
		HTTPOnly bool   `json:"httpOnly,omitempty"`
		Secure   bool   `json:"secure,omitempty"`
	}
	harContent struct {
		Size     int64  `json:"size"`
		MimeType string `json:"mimeType"`
		Comment  string `json:"comment,omitempty"`
	}
	harTimings struct {
		Blocked float64 `json:"blocked"`
		DNS     float64 `json:"dns"`
		Connect float64 `json:"connect"`
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
		SSL     float64 `json:"ssl"`
	}
)

// WriteHAR writes the report's transactions as a HAR 1.2 document: one
// entry per transaction, in transaction order, with the request and
// response headers (when the analysis kept them: analysis.Options.KeepHeaders),
// sizes from the wire, and timings split the way browser developer tools
// split them. Bodies are never included. Captured text is written as
// captured (JSON-escaped, invalid UTF-8 as U+FFFD); the URL is
// percent-encoded so that it parses. Each input is a page; an input that
// was damaged or reached a limit says so in its page's comment.
//
// The document is streamed: the log's header and pages first, then each
// entry encoded and written before the next one is built, so memory does
// not grow with the number of transactions. Transactions and connections
// are read through the report's iterators (a report may keep its listing on
// disk); of each connection only its input and server address are kept,
// which is all an entry needs. The bytes are those of encoding/json
// encoding the whole document at once (with two-space indentation when
// opts.Indent is set).
func WriteHAR(w io.Writer, r *analysis.Report, opts HAROptions) error {
	return writeHAR(w, r, opts, false)
}

// writeHAR is WriteHAR; with reflective, every entry goes through the
// json.Encoder (see harStream.reflective).
func writeHAR(w io.Writer, r *analysis.Report, opts HAROptions, reflective bool) error {
	if r == nil {
		return errNilReport
	}
	version := opts.CreatorVersion
	if version == "" {
		version = "dev"
	}
	conns, err := harConnections(r)
	if err != nil {
		return fmt.Errorf("report: har: %w", err)
	}
	var pages []harPage
	hasPage := map[int]bool{}
	for _, in := range nonNil(r.Inputs) {
		pages = append(pages, harPage{
			StartedDateTime: harTime(int64(in.Start)),
			ID:              harPageID(in.Index),
			Title:           in.Name,
			PageTimings:     harPageTimings{OnContentLoad: -1, OnLoad: -1},
			Comment:         inputComment(in),
		})
		hasPage[in.Index] = true
	}
	hw := newHARStream(w, opts.Indent)
	hw.reflective = reflective
	err = hw.begin(harCreator{Name: "connscope", Version: version}, pages)
	if err == nil {
		err = r.EachTransaction(func(t *analysis.TxnReport) error {
			c, ok := conns[t.Connection]
			e := harEntryOf(t, c, ok)
			if ok && hasPage[c.input] {
				e.PageRef = harPageID(c.input)
			}
			return hw.entry(&e)
		})
	}
	if err == nil {
		err = hw.end()
	}
	if err != nil {
		return fmt.Errorf("report: har: %w", err)
	}
	return nil
}

// harConn is what an entry needs of its connection: the input it came from
// (its page) and the server address (serverIPAddress, and the URL's host
// when the request has no usable Host header).
type harConn struct {
	input  int
	server string
}

// harConnections indexes the report's listed connections by ID, keeping
// only what harConn holds. Server addresses repeat (every connection to one
// server shares it), so each distinct one is stored once.
func harConnections(r *analysis.Report) (map[int]harConn, error) {
	conns := make(map[int]harConn, r.ConnectionCount())
	servers := map[string]string{}
	err := r.EachConnection(func(c *analysis.ConnReport) error {
		server, ok := servers[c.Server]
		if !ok {
			// A copy, so the index never pins the record it came from.
			server = strings.Clone(c.Server)
			servers[server] = server
		}
		conns[c.ID] = harConn{input: c.Input, server: server}
		return nil
	})
	return conns, err
}

// harStream writes a HAR document a piece at a time, byte for byte what
// json.Encoder (with SetIndent("", "  ") when indent is set) writes for the
// whole document: {"log":{"version","creator","pages","entries":[...]}}
// followed by a newline. Each piece is encoded into buf, which is reused.
type harStream struct {
	w       *bufio.Writer
	indent  bool
	buf     bytes.Buffer
	fast    []byte // one entry from its hand encoder
	enc     *json.Encoder
	entries int
	// reflective writes every entry with the json.Encoder, as before the
	// hand encoder: what the tests hold it to.
	reflective bool
}

// Indentation of the log's fields and of the entries inside its array, in
// the indented form.
const (
	harFieldIndent = "    "
	harEntryIndent = "      "
)

func newHARStream(w io.Writer, indent bool) *harStream {
	s := &harStream{w: bufio.NewWriter(w), indent: indent}
	s.enc = json.NewEncoder(&s.buf)
	return s
}

// encode writes v as JSON, its continuation lines prefixed by prefix when
// indenting (its first line goes where the caller has put it).
func (s *harStream) encode(v any, prefix string) error {
	s.buf.Reset()
	if s.indent {
		s.enc.SetIndent(prefix, "  ")
	}
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	_, err := s.w.Write(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
	return err
}

// begin writes everything before the first entry. Write errors stick in
// the bufio.Writer and surface at the next entry or at end.
func (s *harStream) begin(creator harCreator, pages []harPage) error {
	if s.indent {
		s.w.WriteString("{\n  \"log\": {\n" + harFieldIndent + "\"version\": \"1.2\",\n" + harFieldIndent + "\"creator\": ")
	} else {
		s.w.WriteString(`{"log":{"version":"1.2","creator":`)
	}
	if err := s.encode(creator, harFieldIndent); err != nil {
		return err
	}
	if len(pages) > 0 {
		if s.indent {
			s.w.WriteString(",\n" + harFieldIndent + "\"pages\": ")
		} else {
			s.w.WriteString(`,"pages":`)
		}
		if err := s.encode(pages, harFieldIndent); err != nil {
			return err
		}
	}
	if s.indent {
		s.w.WriteString(",\n" + harFieldIndent + "\"entries\": [")
	} else {
		s.w.WriteString(`,"entries":[`)
	}
	return nil
}

// entry writes one entry of the entries array, with its hand encoder
// (har_fast.go), or with encoding/json when that declines.
func (s *harStream) entry(e *harEntry) error {
	switch {
	case s.indent && s.entries > 0:
		s.w.WriteString(",\n" + harEntryIndent)
	case s.indent:
		s.w.WriteString("\n" + harEntryIndent)
	case s.entries > 0:
		s.w.WriteByte(',')
	}
	s.entries++
	if !s.reflective {
		n := harCompact
		if s.indent {
			n = len(harEntryIndent)
		}
		if b, ok := appendHAREntry(s.fast[:0], e, n); ok {
			s.fast = b
			_, err := s.w.Write(b)
			return err
		}
	}
	return s.encode(e, harEntryIndent)
}

// end closes the entries array, the log and the document, and flushes.
func (s *harStream) end() error {
	switch {
	case s.indent && s.entries > 0:
		s.w.WriteString("\n" + harFieldIndent + "]\n  }\n}\n")
	case s.indent:
		s.w.WriteString("]\n  }\n}\n")
	default:
		s.w.WriteString("]}}\n")
	}
	return s.w.Flush()
}

// harEntryOf converts one transaction. hasConn is false when the report
// does not list the connection; the entry is then written without server
// address.
func harEntryOf(t *analysis.TxnReport, c harConn, hasConn bool) harEntry {
	// HAR's time is the sum of the timings that apply (not -1); rounding
	// each first keeps that sum exact in the output.
	connect := round3(millis(t.Timings.ConnectMS, -1))
	send := round3(nonNegative(millis(t.Timings.SendMS, 0)))
	wait := round3(nonNegative(millis(t.Timings.WaitMS, 0)))
	receive := round3(nonNegative(millis(t.Timings.ReceiveMS, 0)))
	total := send + wait + receive
	if connect >= 0 {
		total += connect
	}
	// The entry starts when the request started, handshake included: a
	// browser's entry begins before it connects.
	started := int64(txnStart(t))
	if connect > 0 {
		started -= int64(connect * float64(time.Millisecond))
	}
	e := harEntry{
		StartedDateTime: harTime(started),
		Time:            round3(total),
		Request:         harRequestOf(t, c, hasConn),
		Response:        harResponseOf(t),
		Timings: harTimings{
			Blocked: -1, DNS: -1, SSL: -1,
			Connect: connect, Send: send, Wait: wait, Receive: receive,
		},
		Connection: strconv.Itoa(t.Connection),
	}
	if hasConn {
		if ap, err := netip.ParseAddrPort(c.server); err == nil {
			e.ServerIPAddress = ap.Addr().String()
		}
	}
	var notes []string
	if t.Request == nil {
		notes = append(notes, "no request was captured")
	}
	if t.Response == nil {
		notes = append(notes, "no response was captured")
	} else if !t.Response.Complete {
		notes = append(notes, "response incomplete: "+t.Response.IncompleteReason)
	}
	if t.Pipelined {
		notes = append(notes, "pipelined")
	}
	e.Comment = strings.Join(notes, "; ")
	return e
}

// harTime formats a capture time as ISO 8601 with microseconds.
func harTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// inputComment is a page's comment: the input's error, then its warnings,
// one per line; "" for an input read whole within every limit.
func inputComment(in *analysis.InputReport) string {
	var lines []string
	if in.Error != "" {
		lines = append(lines, "error: "+in.Error)
	}
	for _, w := range in.Warnings {
		lines = append(lines, "warning: "+w)
	}
	return strings.Join(lines, "\n")
}

// harPageID names the page of input i.
func harPageID(i int) string { return "input_" + strconv.Itoa(i) }

func harRequestOf(t *analysis.TxnReport, c harConn, hasConn bool) harRequest {
	q := harRequest{
		Method:      t.Method,
		URL:         harURL(t, c, hasConn),
		HTTPVersion: t.Version,
		Cookies:     requestCookies(t.RequestHeaders),
		Headers:     harHeaders(t.RequestHeaders),
		QueryString: harQuery(t.Target),
		HeadersSize: -1,
		BodySize:    -1,
	}
	if m := t.Request; m != nil {
		q.HeadersSize, q.BodySize = m.HeaderBytes, m.BodyBytes
	}
	return q
}

func harResponseOf(t *analysis.TxnReport) harResponse {
	version := t.ResponseVersion
	if version == "" {
		version = t.Version // no response, or a report made without it
	}
	s := harResponse{
		Status:      t.Status,
		StatusText:  t.Reason,
		HTTPVersion: version,
		Cookies:     responseCookies(t.ResponseHeaders),
		Headers:     harHeaders(t.ResponseHeaders),
		Content:     harContent{Size: 0, MimeType: "x-unknown"},
		HeadersSize: -1,
		BodySize:    -1,
	}
	if ct, ok := headerValue(t.ResponseHeaders, "Content-Type"); ok {
		s.Content.MimeType = ct
	}
	if t.Status >= 300 && t.Status < 400 {
		s.RedirectURL, _ = headerValue(t.ResponseHeaders, "Location")
	}
	if m := t.Response; m != nil {
		s.HeadersSize, s.BodySize = m.HeaderBytes, m.BodyBytes
		s.Content.Size = m.BodyBytes
		if !m.Complete {
			s.Content.Comment = "body incomplete (" + m.IncompleteReason + ")"
		}
	}
	if _, ok := headerValue(t.ResponseHeaders, "Content-Encoding"); ok {
		s.Content.Comment = strings.TrimPrefix(s.Content.Comment+"; size is the encoded length (bodies are not decoded)", "; ")
	}
	return s
}

func harHeaders(hs []httpflow.Header) []harNV {
	out := make([]harNV, 0, len(hs))
	for _, h := range hs {
		out = append(out, harNV{h.Name, h.Value})
	}
	return out
}

// requestCookies lists the cookies of a request's Cookie headers
// ("name=value; name2=value2"), in order, as captured: values keep their
// quotes, and a pair without "=" is a value without a name, as RFC 6265bis
// (section 5.6) parses it.
func requestCookies(hs []httpflow.Header) []harCookie {
	out := []harCookie{}
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for _, pair := range strings.Split(h.Value, ";") {
			if name, value, ok := cookiePair(pair); ok {
				out = append(out, harCookie{Name: name, Value: value})
			}
		}
	}
	return out
}

// responseCookies lists the cookies the response's Set-Cookie headers set,
// one per header, with the attributes HAR has fields for: Path, Domain,
// Expires (as ISO 8601; left out when it is not an HTTP date), Secure and
// HttpOnly. Max-Age is not turned into a date: that would need the time
// the browser received the response, which a capture only approximates.
func responseCookies(hs []httpflow.Header) []harCookie {
	out := []harCookie{}
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		parts := strings.Split(h.Value, ";")
		name, value, ok := cookiePair(parts[0])
		if !ok {
			continue
		}
		c := harCookie{Name: name, Value: value}
		for _, attr := range parts[1:] {
			key, val, _ := strings.Cut(attr, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case strings.EqualFold(key, "Path"):
				c.Path = val
			case strings.EqualFold(key, "Domain"):
				c.Domain = val
			case strings.EqualFold(key, "Expires"):
				if t, ok := cookieDate(val); ok {
					c.Expires = t.UTC().Format(time.RFC3339)
				}
			case strings.EqualFold(key, "Secure"):
				c.Secure = true
			case strings.EqualFold(key, "HttpOnly"):
				c.HTTPOnly = true
			}
		}
		out = append(out, c)
	}
	return out
}

// cookieDateLayouts are the date forms Expires takes in practice: HTTP's
// three (RFC 9110 section 5.6.7) and the Netscape form with dashes and a
// four-digit year that servers still send.
var cookieDateLayouts = []string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Mon, 02-Jan-2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// cookieDate parses an Expires attribute's date.
func cookieDate(s string) (time.Time, bool) {
	for _, layout := range cookieDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// cookiePair splits one "name=value" of a cookie header, spaces around
// either trimmed; ok is false for an empty pair.
func cookiePair(pair string) (name, value string, ok bool) {
	pair = strings.TrimSpace(pair)
	if pair == "" {
		return "", "", false
	}
	name, value, found := strings.Cut(pair, "=")
	if !found {
		return "", pair, true
	}
	return strings.TrimSpace(name), strings.TrimSpace(value), true
}

// harQuery splits the target's query into name/value pairs in order,
// percent-decoded where the encoding is valid and kept raw where not.
func harQuery(target string) []harNV {
	out := []harNV{}
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return out
	}
	query, _, _ = strings.Cut(query, "#")
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, harNV{unescapeQuery(name), unescapeQuery(value)})
	}
	return out
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// harURL rebuilds the request URL: an absolute-form target as it is,
// otherwise http:// + host + target, the host taken from the Host header
// and, without one (or with one that is not a valid host), from the server
// address; unknown-host.invalid when neither is usable. CONNECT's authority-form target becomes http://authority/ ;
// OPTIONS' asterisk-form http://host/* . Bytes that cannot appear in a URL
// are percent-encoded, so the result always parses.
func harURL(t *analysis.TxnReport, c harConn, hasConn bool) string {
	target := t.Target
	lower := strings.ToLower(target)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		if u := urlSafe(target, "[]"); validURL(u) {
			return u
		}
		target = "/"
	}
	host, _ := headerValue(t.RequestHeaders, "Host")
	host = strings.TrimSpace(host)
	if !validHost(host) || !validURL("http://"+host+"/") {
		host = ""
		if hasConn {
			host = c.server
		}
		if !validHost(host) || !validURL("http://"+host+"/") {
			// Nothing names the server: a reserved name (RFC 6761) keeps
			// the URL parseable without pretending to know it.
			host = "unknown-host.invalid"
		}
	}
	switch {
	case strings.EqualFold(t.Method, "CONNECT"):
		if u := "http://" + target + "/"; validHost(target) && validURL(u) {
			return u
		}
		return "http://" + host + "/"
	case target == "*":
		return "http://" + host + "/*"
	case !strings.HasPrefix(target, "/"):
		target = "/" + target
	}
	return "http://" + host + urlSafe(target, "[]")
}

// validHost reports whether s is a plausible host[:port]: a name or IP
// literal made of letters, digits and - . _ ~ : [ ] only.
func validHost(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// validURL reports whether s parses as an absolute URL with a host.
func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.IsAbs() && u.Host != ""
}

// urlSafe percent-encodes every byte that RFC 3986 does not allow anywhere
// in a URL (controls, space, non-ASCII, and " < > \ ^ ` { | }), plus the
// bytes in extra, and a % that does not start a valid escape; existing
// escapes and delimiters are left alone.
func urlSafe(s, extra string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		badPercent := c == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]))
		if c <= 0x20 || c >= 0x7f || badPercent || strings.IndexByte("\"<>\\^`{|}", c) >= 0 || strings.IndexByte(extra, c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func nonNegative(x float64) float64 {
	if x < 0 {
		return 0
	}
	return x
}

// round3 rounds to microseconds (three decimals of a millisecond), the
// precision of the JSON report, so sums do not print float noise.
func round3(x float64) float64 {
	if x < 0 {
		return x
	}
	return float64(int64(x*1000+0.5)) / 1000
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
