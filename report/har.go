package report

import (
	"bufio"
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
type (
	harDoc struct {
		Log harLog `json:"log"`
	}
	harLog struct {
		Version string     `json:"version"`
		Creator harCreator `json:"creator"`
		Pages   []harPage  `json:"pages,omitempty"`
		Entries []harEntry `json:"entries"`
		Comment string     `json:"comment,omitempty"`
	}
	// harPage stands for one input: HAR viewers group entries by page.
	harPage struct {
		StartedDateTime string         `json:"startedDateTime"`
		ID              string         `json:"id"`
		Title           string         `json:"title"`
		PageTimings     harPageTimings `json:"pageTimings"`
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
		Method      string  `json:"method"`
		URL         string  `json:"url"`
		HTTPVersion string  `json:"httpVersion"`
		Cookies     []harNV `json:"cookies"`
		Headers     []harNV `json:"headers"`
		QueryString []harNV `json:"queryString"`
		HeadersSize int64   `json:"headersSize"`
		BodySize    int64   `json:"bodySize"`
		Comment     string  `json:"comment,omitempty"`
	}
	harResponse struct {
		Status      int        `json:"status"`
		StatusText  string     `json:"statusText"`
		HTTPVersion string     `json:"httpVersion"`
		Cookies     []harNV    `json:"cookies"`
		Headers     []harNV    `json:"headers"`
		Content     harContent `json:"content"`
		RedirectURL string     `json:"redirectURL"`
		HeadersSize int64      `json:"headersSize"`
		BodySize    int64      `json:"bodySize"`
		Comment     string     `json:"comment,omitempty"`
	}
	harNV struct {
		Name  string `json:"name"`
		Value string `json:"value"`
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
// percent-encoded so that it parses.
func WriteHAR(w io.Writer, r *analysis.Report, opts HAROptions) error {
	if r == nil {
		return errNilReport
	}
	version := opts.CreatorVersion
	if version == "" {
		version = "dev"
	}
	conns := connsByID(r)
	doc := harDoc{Log: harLog{
		Version: "1.2",
		Creator: harCreator{Name: "connscope", Version: version},
		Entries: []harEntry{},
	}}
	pages := map[int]bool{}
	for _, in := range nonNil(r.Inputs) {
		doc.Log.Pages = append(doc.Log.Pages, harPage{
			StartedDateTime: harTime(int64(in.Start)),
			ID:              harPageID(in.Index),
			Title:           in.Name,
			PageTimings:     harPageTimings{OnContentLoad: -1, OnLoad: -1},
		})
		pages[in.Index] = true
	}
	for _, t := range nonNil(r.Transactions) {
		c := conns[t.Connection]
		e := harEntryOf(t, c)
		if c != nil && pages[c.Input] {
			e.PageRef = harPageID(c.Input)
		}
		doc.Log.Entries = append(doc.Log.Entries, e)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if opts.Indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: har: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: har: %w", err)
	}
	return nil
}

// harEntryOf converts one transaction. c may be nil when the report lacks
// the connection; the entry is then written without server address.
func harEntryOf(t *analysis.TxnReport, c *analysis.ConnReport) harEntry {
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
		Request:         harRequestOf(t, c),
		Response:        harResponseOf(t),
		Timings: harTimings{
			Blocked: -1, DNS: -1, SSL: -1,
			Connect: connect, Send: send, Wait: wait, Receive: receive,
		},
		Connection: strconv.Itoa(t.Connection),
	}
	if c != nil {
		if ap, err := netip.ParseAddrPort(c.Server); err == nil {
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

// harPageID names the page of input i.
func harPageID(i int) string { return "input_" + strconv.Itoa(i) }

func harRequestOf(t *analysis.TxnReport, c *analysis.ConnReport) harRequest {
	q := harRequest{
		Method:      t.Method,
		URL:         harURL(t, c),
		HTTPVersion: t.Version,
		Cookies:     []harNV{},
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
	s := harResponse{
		Status:      t.Status,
		StatusText:  t.Reason,
		HTTPVersion: t.Version,
		Cookies:     []harNV{},
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
func harURL(t *analysis.TxnReport, c *analysis.ConnReport) string {
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
		if c != nil {
			host = c.Server
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
