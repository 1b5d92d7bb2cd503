package report

// The HAR entry conversion as it was at 87891bf, before it reused its
// buffers and cached what repeats: the reference TestHAREntryMatchesReference
// holds the conversion to, entry by entry (reflect.DeepEqual, so a nil slice
// where there was an empty one counts), on every kind of transaction. Copied
// verbatim, with every name prefixed "ref"; headerValue, millis and txnStart
// (common.go) are shared, and so are the helpers the new conversion left
// as they were (validHost, validURL, cookieDate, cookiePair, nonNegative,
// round3, isHex): the comparison holds what changed.

import (
	"math/rand/v2"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// refHarEntryOf converts one transaction. hasConn is false when the report
// does not list the connection; the entry is then written without server
// address.
func refHarEntryOf(t *analysis.TxnReport, c harConn, hasConn bool) harEntry {
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
		StartedDateTime: refHarTime(started),
		Time:            round3(total),
		Request:         refHarRequestOf(t, c, hasConn),
		Response:        refHarResponseOf(t),
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

// refHarTime formats a capture time as ISO 8601 with microseconds.
func refHarTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func refHarRequestOf(t *analysis.TxnReport, c harConn, hasConn bool) harRequest {
	q := harRequest{
		Method:      t.Method,
		URL:         refHarURL(t, c, hasConn),
		HTTPVersion: t.Version,
		Cookies:     refRequestCookies(t.RequestHeaders),
		Headers:     refHarHeaders(t.RequestHeaders),
		QueryString: refHarQuery(t.Target),
		HeadersSize: -1,
		BodySize:    -1,
	}
	if m := t.Request; m != nil {
		q.HeadersSize, q.BodySize = m.HeaderBytes, m.BodyBytes
	}
	return q
}

func refHarResponseOf(t *analysis.TxnReport) harResponse {
	version := t.ResponseVersion
	if version == "" {
		version = t.Version // no response, or a report made without it
	}
	s := harResponse{
		Status:      t.Status,
		StatusText:  t.Reason,
		HTTPVersion: version,
		Cookies:     refResponseCookies(t.ResponseHeaders),
		Headers:     refHarHeaders(t.ResponseHeaders),
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

func refHarHeaders(hs []httpflow.Header) []harNV {
	out := make([]harNV, 0, len(hs))
	for _, h := range hs {
		out = append(out, harNV{h.Name, h.Value})
	}
	return out
}

// refRequestCookies lists the cookies of a request's Cookie headers
// ("name=value; name2=value2"), in order, as captured: values keep their
// quotes, and a pair without "=" is a value without a name, as RFC 6265bis
// (section 5.6) parses it.
func refRequestCookies(hs []httpflow.Header) []harCookie {
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

// refResponseCookies lists the cookies the response's Set-Cookie headers set,
// one per header, with the attributes HAR has fields for: Path, Domain,
// Expires (as ISO 8601; left out when it is not an HTTP date), Secure and
// HttpOnly. Max-Age is not turned into a date: that would need the time
// the browser received the response, which a capture only approximates.
func refResponseCookies(hs []httpflow.Header) []harCookie {
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

// refHarQuery splits the target's query into name/value pairs in order,
// percent-decoded where the encoding is valid and kept raw where not.
func refHarQuery(target string) []harNV {
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
		out = append(out, harNV{refUnescapeQuery(name), refUnescapeQuery(value)})
	}
	return out
}

func refUnescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// refHarURL rebuilds the request URL: an absolute-form target as it is,
// otherwise http:// + host + target, the host taken from the Host header
// and, without one (or with one that is not a valid host), from the server
// address; unknown-host.invalid when neither is usable. CONNECT's authority-form target becomes http://authority/ ;
// OPTIONS' asterisk-form http://host/* . Bytes that cannot appear in a URL
// are percent-encoded, so the result always parses.
func refHarURL(t *analysis.TxnReport, c harConn, hasConn bool) string {
	target := t.Target
	lower := strings.ToLower(target)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		if u := refUrlSafe(target, "[]"); validURL(u) {
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
	return "http://" + host + refUrlSafe(target, "[]")
}

// refUrlSafe percent-encodes every byte that RFC 3986 does not allow anywhere
// in a URL (controls, space, non-ASCII, and " < > \ ^ ` { | }), plus the
// bytes in extra, and a % that does not start a valid escape; existing
// escapes and delimiters are left alone.
func refUrlSafe(s, extra string) string {
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

// refEntries converts r's transactions with the reference, pageref set as
// writeHAR sets it.
func refEntries(r *analysis.Report) ([]harEntry, error) {
	conns, err := harConnections(r)
	if err != nil {
		return nil, err
	}
	pages := map[int]bool{}
	for _, in := range nonNil(r.Inputs) {
		pages[in.Index] = true
	}
	var out []harEntry
	err = r.EachTransaction(func(t *analysis.TxnReport) error {
		c, ok := conns[t.Connection]
		e := refHarEntryOf(t, c, ok)
		if ok && pages[c.input] {
			e.PageRef = "input_" + strconv.Itoa(c.input)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// checkEntriesMatchReference converts r's transactions as writeHAR does,
// with one builder whose entry each conversion overwrites, and wants each
// entry equal to the reference's (reflect.DeepEqual: the same strings, and
// a nil slice only where the reference had one). Every string the builder
// made must still read the same once all are made: its text is never
// written again.
func checkEntriesMatchReference(t *testing.T, name string, r *analysis.Report) int {
	t.Helper()
	want, err := refEntries(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	conns, err := harConnections(r)
	if err != nil {
		t.Fatal(err)
	}
	pageID := map[int]string{}
	for _, in := range nonNil(r.Inputs) {
		pageID[in.Index] = harPageID(in.Index)
	}
	type kept struct{ s, copy string }
	var made []kept
	var b harBuilder
	i := 0
	err = r.EachTransaction(func(tx *analysis.TxnReport) error {
		c, ok := conns[tx.Connection]
		e := b.entry(tx, c, ok)
		if id, has := pageID[c.input]; ok && has {
			e.PageRef = id
		}
		if !reflect.DeepEqual(*e, want[i]) {
			t.Fatalf("%s: entry %d differs from the reference\n got %#v\nwant %#v", name, i, *e, want[i])
		}
		if fresh := harEntryOf(tx, c, ok); !reflect.DeepEqual(fresh.Request, want[i].Request) || fresh.Comment != want[i].Comment {
			t.Fatalf("%s: harEntryOf's entry %d differs from the reference", name, i)
		}
		for _, s := range []string{e.StartedDateTime, e.Request.URL, e.Connection, e.ServerIPAddress, e.Comment, e.Response.Content.Comment} {
			made = append(made, kept{s, strings.Clone(s)})
		}
		for _, q := range e.Request.QueryString {
			made = append(made, kept{q.Name, strings.Clone(q.Name)}, kept{q.Value, strings.Clone(q.Value)})
		}
		for _, c := range e.Response.Cookies {
			made = append(made, kept{c.Expires, strings.Clone(c.Expires)})
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range made {
		if k.s != k.copy {
			t.Fatalf("%s: a string the builder made changed from %q to %q", name, k.copy, k.s)
		}
	}
	return i
}

// TestHAREntryMatchesReference: the builder's entries are the old
// conversion's, on the hand-made report, on every capture and on random
// reports whose targets, Host values, cookies and server addresses reach
// every branch (absolute, authority and asterisk forms, escapes good and
// bad, Host values good, bad and repeated, IPv4, IPv6 and mapped servers).
func TestHAREntryMatchesReference(t *testing.T) {
	checkEntriesMatchReference(t, "fixture", fixtureReport())
	entries := 0
	analyzeEach(t, func(name string, r *analysis.Report) { entries += checkEntriesMatchReference(t, name, r) })
	if entries < 500 {
		t.Fatalf("the captures gave %d entries; the test checks little", entries)
	}
	rng := rand.New(rand.NewPCG(41, 42))
	targets := []string{"/a?b=c&d=%41", "/?q=%zz&&x", "/p?a+b=c+d%2B&e=%4", "/x?%41%42=%c3%a9#frag&z=1", "?", "/?&&=&", "http://h/x", "HTTP://h/y?z=%41",
		"hTTps://h/", "http://[::1/", "Http:/x", "\u212attp://h/", "*", "h:443", "[::1]:443", "no-slash?a=1", "/\xff\x00 <>?k=v v", "/%", "/a%2", "/a%2G"}
	hosts := []string{"example.test", "example.test", " example.test:8080 ", "[::1]:80", "[::1", "a b", "h:x", "", "\u212a", "exa\xffmple"}
	servers := []string{"10.0.0.1:80", "[2001:db8::1]:8080", "[::ffff:10.1.2.3]:80", "[fe80::1%eth0]:80", "10.0.0.1", "", "x:y"}
	for range 300 {
		r := &analysis.Report{Schema: analysis.Schema}
		f := newFiller(t, rng, false, true)
		for i := range 1 + rng.IntN(3) {
			r.Inputs = append(r.Inputs, &analysis.InputReport{Index: i, Name: reportStrings.String(rng)})
		}
		for i := range rng.IntN(10) {
			server := servers[rng.IntN(len(servers))]
			if rng.IntN(8) == 0 {
				server = reportStrings.String(rng)
			}
			r.Connections = append(r.Connections, &analysis.ConnReport{ID: i + 1, Input: rng.IntN(4), Server: server})
		}
		for range rng.IntN(30) {
			var tr analysis.TxnReport
			f.Fill(reflect.ValueOf(&tr).Elem())
			tr.Connection = rng.IntN(12)
			if rng.IntN(4) != 0 {
				tr.Target = targets[rng.IntN(len(targets))]
				if rng.IntN(3) == 0 {
					tr.Target += reportStrings.String(rng)
				}
			}
			if rng.IntN(4) == 0 {
				tr.Method = "connect"
			}
			if rng.IntN(2) == 0 {
				tr.Status = 300 + rng.IntN(100)
			}
			if rng.IntN(4) != 0 {
				tr.RequestHeaders = append(tr.RequestHeaders, httpflow.Header{Name: "Host", Value: hosts[rng.IntN(len(hosts))]})
			}
			tr.RequestHeaders = append(tr.RequestHeaders, harHostileHeaders(rng)...)
			tr.ResponseHeaders = append(tr.ResponseHeaders, harHostileHeaders(rng)...)
			if rng.IntN(3) == 0 {
				tr.RequestHeaders, tr.ResponseHeaders = nil, nil
			}
			r.Transactions = append(r.Transactions, &tr)
		}
		checkEntriesMatchReference(t, "random report", r)
	}
}

// FuzzHARUnescapeQuery: the builder's query decoding is url.QueryUnescape,
// or the value as it is where that fails.
func FuzzHARUnescapeQuery(f *testing.F) {
	for _, s := range []string{"", "a+b", "%41", "%4", "%zz", "%%41", "a%2Bb+%2b", "%c3%a9", "%", "+%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b harBuilder
		if got, want := b.unescapeQuery(s), refUnescapeQuery(s); got != want {
			t.Fatalf("unescapeQuery(%q) = %q, want %q", s, got, want)
		}
	})
}
