package httpflow

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/reassembly"
)

func TestFramesAndTimings(t *testing.T) {
	ops := seq(
		wait(4, cli("GET /a HTTP/1.1\r\nHo")),                           // frame 4 at 5 ms
		cli("st: x\r\n\r\n"),                                            // frame 5 at 6 ms
		wait(10, srv("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe")), // frame 6 at 16 ms
		srv("llo"),           // frame 7 at 17 ms
		wait(100, cli(getB)), // frame 8 at 117 ms
		srv(ok3),             // frame 9 at 118 ms
		closeBoth(),
	)
	txns := run(testConn(), Config{}, ops, whole).Transactions()
	if len(txns) != 2 {
		t.Fatalf("%d transactions", len(txns))
	}
	type span struct {
		first, last uint64
		start, end  int64
	}
	of := func(m *Message) span { return span{m.FirstFrame, m.LastFrame, m.Start, m.End} }
	for _, c := range []struct {
		what      string
		got, want span
	}{
		{"request 0", of(txns[0].Request), span{4, 5, ms(5), ms(6)}},
		{"response 0", of(txns[0].Response), span{6, 7, ms(16), ms(17)}},
		{"request 1", of(txns[1].Request), span{8, 8, ms(117), ms(117)}},
		{"response 1", of(txns[1].Response), span{9, 9, ms(118), ms(118)}},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.what, c.got, c.want)
		}
	}
	const msec = int64(1e6)
	type timing struct{ connect, send, wait, receive, total, gap int64 }
	get := func(tx *Transaction) timing {
		return timing{tx.Connect, tx.Send, tx.Wait, tx.Receive, tx.Total, tx.GapBefore}
	}
	// Handshake: SYN at 0, ACK at 1 ms.
	if got, want := get(txns[0]), (timing{1 * msec, 1 * msec, 10 * msec, 1 * msec, 13 * msec, 4 * msec}); got != want {
		t.Errorf("transaction 0 timings %+v, want %+v", got, want)
	}
	if got, want := get(txns[1]), (timing{-1, 0, 1 * msec, 0, 1 * msec, 100 * msec}); got != want {
		t.Errorf("transaction 1 timings %+v, want %+v", got, want)
	}
	r := txns[0].Response
	if r.HeaderBytes != 38 || r.BodyBytes != 5 || r.WireBytes != 43 || r.DeclaredLength != 5 {
		t.Errorf("response 0 bytes: header %d body %d wire %d declared %d", r.HeaderBytes, r.BodyBytes, r.WireBytes, r.DeclaredLength)
	}
}

func TestWaitWithContinue(t *testing.T) {
	// The 100 Continue comes before the body: the wait is from the body's
	// last byte to the final response, not to the 100.
	ops := seq(
		cli("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"), // 2 ms
		wait(5, srv("HTTP/1.1 100 Continue\r\n\r\n")),                                 // 7 ms
		wait(5, cli("abc")), // 12 ms
		wait(20, srv(ok5)),  // 32 ms
		closeBoth(),
	)
	tx := run(testConn(), Config{}, ops, whole).Transactions()[0]
	if tx.Wait != 20e6 || tx.Send != 10e6 || len(tx.Interim) != 1 || tx.Total != 30e6+1e6 {
		t.Errorf("Send %d Wait %d Total %d interim %d; want 10 ms, 20 ms, 31 ms, 1", tx.Send, tx.Wait, tx.Total, len(tx.Interim))
	}
	if tx.Request.Expect() != "100-continue" {
		t.Errorf("Expect %q", tx.Request.Expect())
	}
}

func TestHeaderFields(t *testing.T) {
	req := "GET /h HTTP/1.0\r\n" +
		"HOST: example.com\r\n" +
		"Accept: a\r\n" +
		"accept: b\r\n" +
		"X-Folded: first\r\n" +
		"  second\r\n" +
		"X-Raw: caf\xc3\xa9 \xff\r\n" +
		"Connection: Keep-Alive, X-Custom\r\n" +
		"Keep-Alive: timeout=15, max=99\r\n" +
		"Proxy-Connection: keep-alive\r\n" +
		"Upgrade: websocket\r\n" +
		"Host : smuggled\r\n" +
		"no colon here\r\n\r\n"
	txns := run(testConn(), Config{}, seq(cli(req), srv("HTTP/1.0 204 No Content\r\n\r\n"), closeBoth()), bytewise).Transactions()
	m := txns[0].Request
	if v, ok := m.Get("host"); !ok || v != "example.com" {
		t.Errorf("Get(host) = %q, %v", v, ok)
	}
	var accept []string
	for _, h := range m.Headers() {
		if strings.EqualFold(h.Name, "accept") {
			accept = append(accept, h.Name+"="+h.Value)
		}
	}
	if strings.Join(accept, ",") != "Accept=a,accept=b" {
		t.Errorf("repeated fields: %v", accept)
	}
	if v, _ := m.Get("x-folded"); v != "first second" {
		t.Errorf("folded value %q", v)
	}
	if v, _ := m.Get("X-Raw"); v != "caf\xc3\xa9 \xff" {
		t.Errorf("raw value %q", v)
	}
	if !slices.Equal(m.ConnectionTokens, []string{"keep-alive", "x-custom"}) {
		t.Errorf("ConnectionTokens %q", m.ConnectionTokens)
	}
	if m.KeepAlive() != "timeout=15, max=99" || m.KeepAliveTimeout != 15 || m.KeepAliveMax != 99 {
		t.Errorf("Keep-Alive %q timeout %d max %d", m.KeepAlive(), m.KeepAliveTimeout, m.KeepAliveMax)
	}
	if !m.HasProxyConnection || m.ProxyConnection() != "keep-alive" || m.Upgrade() != "websocket" {
		t.Errorf("Proxy-Connection %v %q, Upgrade %q", m.HasProxyConnection, m.ProxyConnection(), m.Upgrade())
	}
	want := []string{"obs_fold", "space_before_colon", "bad_header_line"}
	if !slices.Equal(m.Anomalies(), want) {
		t.Errorf("anomalies %q, want %q", m.Anomalies(), want)
	}
	if m.HeadersTruncated {
		t.Error("HeadersTruncated without reaching a bound")
	}
}

func TestHeaderBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	for i := range 20 {
		fmt.Fprintf(&b, "X-Filler-%02d: %s\r\n", i, strings.Repeat("v", 20))
	}
	// Past both bounds, framing and connection management still count.
	b.WriteString("Connection: close\r\nContent-Length: 4\r\n\r\nbody")
	for _, cfg := range []Config{{MaxHeaders: 5}, {MaxHeaderBytes: 200}} {
		p := run(testConn(), cfg, seq(cli(getA), srv(b.String()), cli(getB), srv(ok3), closeBoth()), whole)
		got := render(p.Transactions())
		want := []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=4",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%+v: got %q", cfg, got)
		}
		m := p.Transactions()[0].Response
		if !m.HeadersTruncated || (cfg.MaxHeaders == 5 && len(m.Headers()) != 5) || m.HeaderBytes < 600 {
			t.Errorf("%+v: truncated %v, %d headers kept, %d header bytes", cfg, m.HeadersTruncated, len(m.Headers()), m.HeaderBytes)
		}
	}
	// One line longer than the bound.
	long := "GET /a HTTP/1.1\r\nCookie: " + strings.Repeat("c", 5000) + "\r\nContent-Length: 2\r\n\r\nok"
	p := run(testConn(), Config{MaxHeaderBytes: 1024}, seq(cli(long), srv(ok5), closeBoth()), randomSplit(newRand(3)))
	m := p.Transactions()[0].Request
	if !m.HeadersTruncated || !slices.Contains(m.Anomalies(), "header_line_too_long") || m.BodyBytes != 2 || !m.Complete {
		t.Errorf("long line: truncated %v anomalies %q body %d complete %v", m.HeadersTruncated, m.Anomalies(), m.BodyBytes, m.Complete)
	}
}

func TestMidStreamCapture(t *testing.T) {
	// No handshake: the capture starts inside a response body and inside a
	// request's headers.
	c := &reassembly.Connection{ID: 3}
	p := run(c, Config{}, seq(cli("ent: x\r\n\r\n"), srv("ody\r\n"), cli(getB), srv(ok3), cli(getC), srv(ok5), closeBoth()), whole)
	want := []string{
		"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		"GET /c HTTP/1.1 ok => 200 content_length ok body=5 persistent",
	}
	if got := render(p.Transactions()); strings.Join(got, "\n") != strings.Join(want, "\n") || p.App() != AppHTTP1 {
		t.Errorf("got %s %q", p.App(), got)
	}
	if tx := p.Transactions()[0]; tx.Connect != -1 || tx.GapBefore != -1 {
		t.Errorf("no handshake, yet Connect %d GapBefore %d", tx.Connect, tx.GapBefore)
	}
	// Mid-stream TLS application data is recognised too.
	p = run(c, Config{}, seq(cli("\x17\x03\x03\x00\x40encrypted"), srv("\x17\x03\x03\x01\x00x"), closeBoth()), whole)
	if p.App() != AppTLS {
		t.Errorf("mid-stream TLS: App %s", p.App())
	}
}

func TestTransactionBound(t *testing.T) {
	var c, s strings.Builder
	for i := range 10 {
		fmt.Fprintf(&c, "HEAD /%d HTTP/1.1\r\n\r\n", i)
		s.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
	}
	// The responses to HEAD have no body whatever Content-Length says:
	// getting that right past the bound needs the dropped requests' methods.
	c.WriteString(getA)
	s.WriteString(ok5)
	p := run(testConn(), Config{MaxTransactionsPerConn: 3}, seq(cli(c.String()), srv(s.String()), closeBoth()), whole)
	if n, d := len(p.Transactions()), p.TransactionsDropped(); n != 3 || d != 8 {
		t.Fatalf("kept %d, dropped %d; want 3, 8", n, d)
	}
	for _, tx := range p.Transactions() {
		if tx.Response == nil || !tx.Response.Complete || len(tx.Response.Anomalies()) > 0 {
			t.Errorf("kept transaction %d: %q", tx.Index, render([]*Transaction{tx}))
		}
	}
	if st := &p.streams[s2c]; st.skipped != 0 || st.last == nil || st.last.BodyBytes != 5 || !st.last.Complete {
		t.Errorf("last response after the bound was not parsed in step")
	}
}

func TestPersistence(t *testing.T) {
	msg := func(version string, framing Framing, tokens ...string) *Message {
		return &Message{Version: version, Framing: framing, ConnectionTokens: tokens}
	}
	cl := FramingContentLength
	for _, c := range []struct {
		desc      string
		req, resp *Message
		tunnel    bool
		want      bool
	}{
		{"HTTP/1.1 both", msg("HTTP/1.1", FramingNone), msg("HTTP/1.1", cl), false, true},
		{"client close", msg("HTTP/1.1", FramingNone, "close"), msg("HTTP/1.1", cl), false, false},
		{"server close", msg("HTTP/1.1", FramingNone), msg("HTTP/1.1", cl, "close"), false, false},
		{"HTTP/1.0 without keep-alive", msg("HTTP/1.0", FramingNone), msg("HTTP/1.0", cl), false, false},
		{"HTTP/1.0 asked, not granted", msg("HTTP/1.0", FramingNone, "keep-alive"), msg("HTTP/1.0", cl), false, false},
		{"HTTP/1.0 asked and granted", msg("HTTP/1.0", FramingNone, "keep-alive"), msg("HTTP/1.0", cl, "keep-alive"), false, true},
		{"HTTP/1.1 client, HTTP/1.0 server granting", msg("HTTP/1.1", FramingNone), msg("HTTP/1.0", cl, "keep-alive"), false, true},
		{"HTTP/1.1 client, HTTP/1.0 server", msg("HTTP/1.1", FramingNone), msg("HTTP/1.0", cl), false, false},
		{"close-delimited", msg("HTTP/1.1", FramingNone), msg("HTTP/1.1", FramingCloseDelimited), false, false},
		{"tunnel", msg("HTTP/1.1", FramingNone), msg("HTTP/1.1", FramingTunnel), true, false},
		{"no response", msg("HTTP/1.1", FramingNone), nil, false, false},
		{"keep-alive token is case-insensitive", msg("HTTP/1.0", FramingNone, "Keep-Alive"), msg("HTTP/1.0", cl, "KEEP-ALIVE"), false, true},
	} {
		tx := &Transaction{Request: c.req, Response: c.resp, Tunnel: c.tunnel}
		if got := persistentAfter(tx, true); got != c.want {
			t.Errorf("%s: PersistentAfter %v, want %v", c.desc, got, c.want)
		}
	}
}

// persistenceByRule is persistentAfter as RFC 9112 section 9.3 reads, one
// HasConnectionToken call per question: persistentAfter reads each side's
// tokens once, and TestPersistenceMatchesRule holds it to this.
func persistenceByRule(t *Transaction, headersSeen bool) bool {
	if !headersSeen {
		return false
	}
	resp, req := t.Response, t.Request
	if resp == nil || t.Tunnel || resp.Framing == FramingCloseDelimited || resp.Version == "" {
		return false
	}
	if req != nil && req.Version == "" {
		req = nil
	}
	if resp.HasConnectionToken("close") || (req != nil && req.HasConnectionToken("close")) {
		return false
	}
	reqOK := req == nil || atLeast11(req.Version) || req.HasConnectionToken("keep-alive")
	respOK := atLeast11(resp.Version) || resp.HasConnectionToken("keep-alive")
	return reqOK && respOK
}

// TestPersistenceMatchesRule compares persistentAfter with the rule as
// written on every combination of versions, Connection tokens (none,
// either option in any case, both, look-alikes of the same length),
// framing, tunnel, missing messages and header blocks not seen.
func TestPersistenceMatchesRule(t *testing.T) {
	versions := []string{"", "HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/1.x"}
	tokenLists := [][]string{nil, {"keep-alive"}, {"close"}, {"Keep-Alive"}, {"CLOSE"}, {"keep-alivE", "upgrade"},
		{"upgrade", "cLose"}, {"keep-alive", "close"}, {"close", "keep-alive"}, {"clote"}, {"keep_alive"},
		{"closed"}, {"te"}, {""}}
	var msgs []*Message
	for _, v := range versions {
		for _, toks := range tokenLists {
			for _, f := range []Framing{FramingNone, FramingContentLength, FramingCloseDelimited} {
				msgs = append(msgs, &Message{Version: v, ConnectionTokens: toks, Framing: f})
			}
		}
	}
	reqs := append([]*Message{nil}, msgs...)
	resps := append([]*Message{nil}, msgs...)
	checked := 0
	for _, req := range reqs {
		for _, resp := range resps {
			for _, tunnel := range []bool{false, true} {
				for _, seen := range []bool{false, true} {
					tx := &Transaction{Request: req, Response: resp, Tunnel: tunnel}
					if got, want := persistentAfter(tx, seen), persistenceByRule(tx, seen); got != want {
						t.Fatalf("request %+v, response %+v, tunnel %v, headers seen %v: %v, want %v", req, resp, tunnel, seen, got, want)
					}
					checked++
				}
			}
		}
	}
	if checked < 100000 {
		t.Fatalf("only %d combinations", checked)
	}
}

func TestTunnelSwallowsLaterRequests(t *testing.T) {
	// A client that sends a GET right after CONNECT, before the 200: once
	// the tunnel opens, that GET was tunnel payload, not a request.
	ops := seq(cli("CONNECT h:80 HTTP/1.1\r\n\r\n"), cli(getA), srv("HTTP/1.1 200 OK\r\n\r\n"), srv(ok5), closeBoth())
	p := run(testConn(), Config{}, ops, whole)
	want := []string{"CONNECT h:80 HTTP/1.1 ok => 200 tunnel ok tunnel"}
	if got := render(p.Transactions()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q", got)
	}
	checkInvariants(t, p)
}

func TestServerAnomalies(t *testing.T) {
	for _, c := range []struct {
		desc string
		ops  []op
		want []string
	}{
		{"not HTTP in answer", seq(cli(getA), srv("SSH-2.0-OpenSSH_9.6\r\n"), closeBoth()),
			[]string{"GET /a HTTP/1.1 ok => 0 none incomplete:malformed !not_http_response"}},
		{"broken status line, then a good one", seq(cli(getA+getB), srv("HTTP/1.1 2OO OK\r\n\r\n"+ok3), closeBoth()),
			[]string{"GET /a HTTP/1.1 ok => 0 none incomplete:malformed !bad_status_line",
				"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent"}},
		{"junk after a chunked body", seq(cli(getA), srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nJUNK\r\n"), cli(getB), srv(ok3), closeBoth()),
			[]string{"GET /a HTTP/1.1 ok => 200 chunked ok !stray_bytes_after_message persistent",
				"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent"}},
		{"request with unknown transfer coding", seq(cli("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxyz\r\n"+getB), srv(ok3+ok5), closeBoth()),
			[]string{"POST / HTTP/1.1 incomplete:malformed !bad_transfer_encoding => 200 content_length ok body=3 persistent",
				"GET /b HTTP/1.1 ok => 200 content_length ok body=5 pipelined persistent"}},
		{"response to HEAD sent with a body", seq(cli("HEAD / HTTP/1.1\r\n\r\n"), srv("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"), closeBoth()),
			[]string{"HEAD / HTTP/1.1 ok => 200 none ok !stray_bytes_after_message persistent"}},
	} {
		t.Run(c.desc, func(t *testing.T) {
			for _, sp := range []splitter{whole, bytewise} {
				p := run(testConn(), Config{}, c.ops, sp)
				if got := render(p.Transactions()); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
				}
				checkInvariants(t, p)
			}
		})
	}
}

func TestChunkedTrailers(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"4;ext=\"q\"\r\nabcd\r\n0\r\nX-Sum: 42\r\nX-Other: y\r\n\r\n"
	for _, sp := range []splitter{whole, bytewise} {
		m := run(testConn(), Config{}, seq(cli(getA), srv(resp), closeBoth()), sp).Transactions()[0].Response
		if len(m.Trailers()) != 2 || m.Trailers()[0] != (Header{"X-Sum", "42"}) || m.Trailers()[1] != (Header{"X-Other", "y"}) {
			t.Errorf("trailers %q", m.Trailers())
		}
		if v, _ := m.Get("trailer"); v != "X-Sum" || m.BodyBytes != 4 || m.WireBytes != int64(len(resp)) {
			t.Errorf("Trailer header %q, body %d, wire %d of %d", v, m.BodyBytes, m.WireBytes, len(resp))
		}
	}
}

// Keep-Alive parameters beyond what a Message's int32 holds saturate
// rather than wrap, and a negative or unreadable one is left out.
func TestKeepAliveParametersSaturate(t *testing.T) {
	for _, tc := range []struct {
		value        string
		max, timeout int32
	}{
		{"timeout=5, max=100", 100, 5},
		{"timeout=2147483647, max=2147483648", math.MaxInt32, math.MaxInt32},
		{`max="99999999999999999999999", timeout=4294967301`, math.MaxInt32, math.MaxInt32},
		{"max=-2147483649, timeout=-1", -1, -1},
		{"max=x, timeout=", -1, -1},
	} {
		m := Message{KeepAliveMax: -1, KeepAliveTimeout: -1}
		parseKeepAlive(&m, tc.value)
		if m.KeepAliveMax != tc.max || m.KeepAliveTimeout != tc.timeout {
			t.Errorf("Keep-Alive: %s gave max %d timeout %d, want %d and %d", tc.value, m.KeepAliveMax, m.KeepAliveTimeout, tc.max, tc.timeout)
		}
	}
}

// Framing and Incomplete are numbers whose names are what the reports
// write (docs/report-schema.md): each one named, none twice.
func TestFramingAndIncompleteNames(t *testing.T) {
	framings := map[Framing]string{0: "", FramingNone: "none", FramingContentLength: "content_length",
		FramingChunked: "chunked", FramingCloseDelimited: "close_delimited", FramingTunnel: "tunnel"}
	for f, want := range framings {
		if got := f.String(); got != want {
			t.Errorf("Framing %d is %q, want %q", f, got, want)
		}
		if b, _ := f.MarshalText(); string(b) != want {
			t.Errorf("Framing %d marshals as %q, want %q", f, b, want)
		}
	}
	reasons := map[Incomplete]string{IncompleteNone: "", IncompleteFIN: "fin", IncompleteRST: "rst", IncompleteGap: "gap",
		IncompleteEndOfCapture: "end_of_capture", IncompleteMalformed: "malformed", IncompleteNoResponse: "no_response"}
	for i, want := range reasons {
		if got := i.String(); got != want {
			t.Errorf("Incomplete %d is %q, want %q", i, got, want)
		}
	}
	if len(framingNames) != len(framings) || len(incompleteNames) != len(reasons) {
		t.Errorf("%d framing names for %d framings, %d reasons for %d", len(framingNames), len(framings), len(incompleteNames), len(reasons))
	}
	if got := Framing(200).String(); got != "framing(200)" {
		t.Errorf("an unknown Framing is %q", got)
	}
}
