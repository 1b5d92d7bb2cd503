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
	"unsafe"

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
	pageID := map[int]string{} // by input, for the entries' pageref
	for _, in := range nonNil(r.Inputs) {
		id := harPageID(in.Index)
		pages = append(pages, harPage{
			StartedDateTime: harTime(int64(in.Start)),
			ID:              id,
			Title:           in.Name,
			PageTimings:     harPageTimings{OnContentLoad: -1, OnLoad: -1},
			Comment:         inputComment(in),
		})
		pageID[in.Index] = id
	}
	hw := newHARStream(w, opts.Indent)
	hw.reflective = reflective
	err = hw.begin(harCreator{Name: "connscope", Version: version}, pages)
	if err == nil {
		var b harBuilder
		err = r.EachTransaction(func(t *analysis.TxnReport) error {
			c, ok := conns[t.Connection]
			e := b.entry(t, c, ok)
			if id, has := pageID[c.input]; ok && has {
				e.PageRef = id
			}
			return hw.entry(e)
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
// address. The entry shares nothing with any other (see harBuilder).
func harEntryOf(t *analysis.TxnReport, c harConn, hasConn bool) harEntry {
	var b harBuilder
	return *b.entry(t, c, hasConn)
}

// harBuilder converts the transactions of one document into entries, one
// at a time, each valid until the next: WriteHAR encodes an entry before
// it builds the next one. An entry used to cost about 17 allocations (its
// slices, the strings it builds, the URL's checks, the entry itself); the
// builder reuses one entry and its slices, appends the text it builds
// (times, the URL, decoded query values, the connection's ID, comments) to
// chunks of harText and remembers whether the last Host value and the
// last server address made a valid URL host, which keep-alive traffic asks
// again and again. The bytes written are the same: the reference copy of
// the old conversion (har_reference_test.go) is held to it entry by entry.
type harBuilder struct {
	e                              harEntry
	reqHeaders, respHeaders, query []harNV
	reqCookies, respCookies        []harCookie
	text                           harText
	host                           harHostCheck // the Host header's value
	server                         harHostCheck // the server address
}

// harHostCheck remembers the last host usable was asked about.
type harHostCheck struct {
	host     string
	ok, seen bool
}

// usable reports whether host can stand in the URL (validHost, and
// "http://host/" parses as an absolute URL with a host), remembering the
// answer for the next call with the same host.
func (h *harHostCheck) usable(host string) bool {
	if h.seen && host == h.host {
		return h.ok
	}
	h.host, h.ok, h.seen = host, validHost(host) && validURL("http://"+host+"/"), true
	return h.ok
}

// harText holds the strings a harBuilder builds. Bytes are only ever
// appended, never written again once a string is made over them: a new
// chunk replaces a full one, and the old chunk lives on as long as a
// string over it does (httpflow's slab does the same). So a string stays
// valid, and unchanged, however long it is kept.
type harText struct{ buf []byte }

// harTextChunk is the size of a chunk: the text of a few dozen entries.
const harTextChunk = 8 << 10

// open makes room for n more bytes (appending beyond it is still safe, it
// only copies) and returns where the string starts.
func (x *harText) open(n int) int {
	if cap(x.buf)-len(x.buf) < n {
		x.buf = make([]byte, 0, max(n, harTextChunk))
	}
	return len(x.buf)
}

// since returns the bytes appended from start on as a string.
func (x *harText) since(start int) string {
	if len(x.buf) == start {
		return ""
	}
	return unsafe.String(&x.buf[start], len(x.buf)-start)
}

// entry converts one transaction into the builder's entry, which the next
// call overwrites.
func (b *harBuilder) entry(t *analysis.TxnReport, c harConn, hasConn bool) *harEntry {
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
	e := &b.e
	*e = harEntry{
		StartedDateTime: b.time(started),
		Time:            round3(total),
		Request:         b.request(t, c, hasConn),
		Response:        b.response(t),
		Timings: harTimings{
			Blocked: -1, DNS: -1, SSL: -1,
			Connect: connect, Send: send, Wait: wait, Receive: receive,
		},
	}
	x := &b.text
	start := x.open(20)
	x.buf = strconv.AppendInt(x.buf, int64(t.Connection), 10)
	e.Connection = x.since(start)
	if hasConn {
		if ap, err := netip.ParseAddrPort(c.server); err == nil {
			start := x.open(len(c.server))
			x.buf = ap.Addr().AppendTo(x.buf)
			e.ServerIPAddress = x.since(start)
		}
	}
	start = x.open(64)
	note := func(s string) {
		if len(x.buf) > start {
			x.buf = append(x.buf, "; "...)
		}
		x.buf = append(x.buf, s...)
	}
	if t.Request == nil {
		note("no request was captured")
	}
	if t.Response == nil {
		note("no response was captured")
	} else if !t.Response.Complete {
		note("response incomplete: ")
		x.buf = append(x.buf, t.Response.IncompleteReason...)
	}
	if t.Pipelined {
		note("pipelined")
	}
	e.Comment = x.since(start)
	return e
}

// time is harTime in the builder's text.
func (b *harBuilder) time(ns int64) string {
	x := &b.text
	start := x.open(len(harTimeLayout) + 8)
	x.buf = time.Unix(0, ns).UTC().AppendFormat(x.buf, harTimeLayout)
	return x.since(start)
}

// harTimeLayout is ISO 8601 with microseconds.
const harTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// harTime formats a capture time as ISO 8601 with microseconds.
func harTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(harTimeLayout)
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

func (b *harBuilder) request(t *analysis.TxnReport, c harConn, hasConn bool) harRequest {
	b.reqCookies = b.requestCookies(b.reqCookies, t.RequestHeaders)
	b.reqHeaders = harHeaders(b.reqHeaders, t.RequestHeaders)
	b.query = b.harQuery(b.query, t.Target)
	q := harRequest{
		Method:      t.Method,
		URL:         b.url(t, c, hasConn),
		HTTPVersion: t.Version,
		Cookies:     b.reqCookies,
		Headers:     b.reqHeaders,
		QueryString: b.query,
		HeadersSize: -1,
		BodySize:    -1,
	}
	if m := t.Request; m != nil {
		q.HeadersSize, q.BodySize = m.HeaderBytes, m.BodyBytes
	}
	return q
}

func (b *harBuilder) response(t *analysis.TxnReport) harResponse {
	version := t.ResponseVersion
	if version == "" {
		version = t.Version // no response, or a report made without it
	}
	b.respCookies = b.responseCookies(b.respCookies, t.ResponseHeaders)
	b.respHeaders = harHeaders(b.respHeaders, t.ResponseHeaders)
	s := harResponse{
		Status:      t.Status,
		StatusText:  t.Reason,
		HTTPVersion: version,
		Cookies:     b.respCookies,
		Headers:     b.respHeaders,
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
	x := &b.text
	start := x.open(96)
	if m := t.Response; m != nil {
		s.HeadersSize, s.BodySize = m.HeaderBytes, m.BodyBytes
		s.Content.Size = m.BodyBytes
		if !m.Complete {
			x.buf = append(x.buf, "body incomplete ("...)
			x.buf = append(x.buf, m.IncompleteReason...)
			x.buf = append(x.buf, ')')
		}
	}
	if _, ok := headerValue(t.ResponseHeaders, "Content-Encoding"); ok {
		if len(x.buf) > start {
			x.buf = append(x.buf, "; "...)
		}
		x.buf = append(x.buf, "size is the encoded length (bodies are not decoded)"...)
	}
	s.Content.Comment = x.since(start)
	return s
}

// harHeaders lists hs in out's array: never nil, so that an entry without
// headers has [] as before, not null.
func harHeaders(out []harNV, hs []httpflow.Header) []harNV {
	out = out[:0]
	if out == nil {
		out = make([]harNV, 0, max(len(hs), 4))
	}
	for _, h := range hs {
		out = append(out, harNV{h.Name, h.Value})
	}
	return out
}

// emptyCookies returns out emptied, never nil.
func emptyCookies(out []harCookie) []harCookie {
	if out == nil {
		return make([]harCookie, 0, 4)
	}
	return out[:0]
}

// requestCookies lists the cookies of a request's Cookie headers
// ("name=value; name2=value2"), in order, as captured: values keep their
// quotes, and a pair without "=" is a value without a name, as RFC 6265bis
// (section 5.6) parses it. They go in out's array.
func (b *harBuilder) requestCookies(out []harCookie, hs []httpflow.Header) []harCookie {
	out = emptyCookies(out)
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Cookie") {
			continue
		}
		for rest, more := h.Value, true; more; {
			var pair string
			pair, rest, more = strings.Cut(rest, ";")
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
// They go in out's array.
func (b *harBuilder) responseCookies(out []harCookie, hs []httpflow.Header) []harCookie {
	out = emptyCookies(out)
	for _, h := range hs {
		if !strings.EqualFold(h.Name, "Set-Cookie") {
			continue
		}
		first, rest, more := strings.Cut(h.Value, ";")
		name, value, ok := cookiePair(first)
		if !ok {
			continue
		}
		c := harCookie{Name: name, Value: value}
		for more {
			var attr string
			attr, rest, more = strings.Cut(rest, ";")
			key, val, _ := strings.Cut(attr, "=")
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
			switch {
			case strings.EqualFold(key, "Path"):
				c.Path = val
			case strings.EqualFold(key, "Domain"):
				c.Domain = val
			case strings.EqualFold(key, "Expires"):
				if t, ok := cookieDate(val); ok {
					x := &b.text
					start := x.open(len(time.RFC3339) + 8)
					x.buf = t.UTC().AppendFormat(x.buf, time.RFC3339)
					c.Expires = x.since(start)
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
// percent-decoded where the encoding is valid and kept raw where not, in
// out's array (never nil).
func (b *harBuilder) harQuery(out []harNV, target string) []harNV {
	out = out[:0]
	if out == nil {
		out = make([]harNV, 0, 4)
	}
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return out
	}
	query, _, _ = strings.Cut(query, "#")
	for rest, more := query, true; more; {
		var part string
		part, rest, more = strings.Cut(rest, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, harNV{b.unescapeQuery(name), b.unescapeQuery(value)})
	}
	return out
}

// unescapeQuery is url.QueryUnescape (+ as a space, %XX as its byte) when
// s is validly escaped, else s as it is; the decoded text goes in the
// builder's.
func (b *harBuilder) unescapeQuery(s string) string {
	n, plus := 0, false
	for i := 0; i < len(s); {
		switch s[i] {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return s // url.QueryUnescape's EscapeError
			}
			n++
			i += 3
		case '+':
			plus = true
			i++
		default:
			i++
		}
	}
	if n == 0 && !plus {
		return s
	}
	x := &b.text
	start := x.open(len(s) - 2*n)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			x.buf = append(x.buf, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			x.buf = append(x.buf, ' ')
		default:
			x.buf = append(x.buf, s[i])
		}
	}
	return x.since(start)
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// harURL is harBuilder.url with a builder of its own.
func harURL(t *analysis.TxnReport, c harConn, hasConn bool) string {
	var b harBuilder
	return b.url(t, c, hasConn)
}

// url rebuilds the request URL: an absolute-form target as it is,
// otherwise http:// + host + target, the host taken from the Host header
// and, without one (or with one that is not a valid host), from the server
// address; unknown-host.invalid when neither is usable. CONNECT's authority-form target becomes http://authority/ ;
// OPTIONS' asterisk-form http://host/* . Bytes that cannot appear in a URL
// are percent-encoded, so the result always parses.
func (b *harBuilder) url(t *analysis.TxnReport, c harConn, hasConn bool) string {
	target := t.Target
	if hasPrefixLower(target, "http://") || hasPrefixLower(target, "https://") {
		if u := urlSafe(target, "[]"); validURL(u) {
			return u
		}
		target = "/"
	}
	host, _ := headerValue(t.RequestHeaders, "Host")
	host = strings.TrimSpace(host)
	if !b.host.usable(host) {
		host = ""
		if hasConn {
			host = c.server
		}
		if !b.server.usable(host) {
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
	}
	x := &b.text
	start := x.open(len("http://") + len(host) + 1 + 3*len(target))
	x.buf = append(x.buf, "http://"...)
	x.buf = append(x.buf, host...)
	if !strings.HasPrefix(target, "/") {
		x.buf = append(x.buf, '/')
	}
	x.buf = appendURLSafe(x.buf, target, "[]")
	return x.since(start)
}

// hasPrefixLower reports whether strings.ToLower(s) starts with prefix,
// an ASCII string of lower-case letters and punctuation, without making
// the lower-case copy: no rune but an ASCII letter lowers to an ASCII
// letter of "https" (only U+0130 and U+212A lower to ASCII at all, to i
// and k), so the prefix's bytes must be s's, ASCII-lowered.
func hasPrefixLower(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
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
	return string(appendURLSafe(make([]byte, 0, len(s)+16), s, extra))
}

// appendURLSafe appends urlSafe(s, extra) to b.
func appendURLSafe(b []byte, s, extra string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		badPercent := c == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]))
		if c <= 0x20 || c >= 0x7f || badPercent || strings.IndexByte("\"<>\\^`{|}", c) >= 0 || strings.IndexByte(extra, c) >= 0 {
			b = append(b, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
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
