package diagnose

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connscope/connscope/httpflow"
)

// pipelined builds one connection carrying requests sent back to back
// before any response, answered in order by responses of the given
// durations (ms), each 10 ms after the previous ended. methods name the
// requests.
func pipelined(methods []string, respMs ...float64) *fx {
	f := newConn(1, 0.1)
	var reqs []*httpflow.Message
	for i := range methods {
		q := f.data(2+float64(i)*0.1, c2s, 150)
		reqs = append(reqs, msg(q, q))
	}
	ms := 20.0
	for i, q := range reqs {
		var resp *httpflow.Message
		if i < len(respMs) {
			a := f.data(ms, s2c, 1000)
			b := f.data(ms+respMs[i], s2c, 1000)
			resp = msg(a, b)
			ms += respMs[i] + 10
		}
		t := f.tx(q, resp)
		t.Request.Method = methods[i]
	}
	return f
}

// serial builds one keep-alive connection with transactions separated by
// the given idle gaps (ms).
func serial(gaps ...float64) *fx {
	f := newConn(1, 0.1)
	ms := 2.0
	f.exchange(ms, 100, 5, 300)
	for _, g := range gaps {
		ms += 5 + g
		f.exchange(ms, 100, 5, 300)
	}
	f.finish(ms+50, c2s)
	return f
}

// withHeaders builds a one-transaction connection and lets edit set the
// request's and response's headers.
func withHeaders(edit func(req, resp *httpflow.Message)) []*fx {
	f := newConn(1, 0.1)
	t := f.exchange(2, 100, 5, 300)
	edit(t.Request, t.Response)
	f.finish(50, c2s)
	return one(f)
}

// parallel opens n overlapping connections from one client to one server.
func parallel(n int) []*fx {
	cf := &captureFx{}
	var out []*fx
	for i := 0; i < n; i++ {
		start := float64(i) * 2
		f := cf.conn(i+1, uint16(41000+i), start, 1, 0.1)
		f.exchange(start+1.2, 100, 50, 300)
		f.finish(start+100, c2s)
		out = append(out, f)
	}
	return out
}

// oneShot is a single-transaction connection; the server closes it
// (responding with Connection: close) unless keepOpen.
func oneShot(cf *captureFx, id int, startMs float64, keepOpen bool) *fx {
	f := cf.conn(id, uint16(42000+id), startMs, 1, 0.1)
	t := f.exchange(startMs+1.2, 100, 5, 300)
	if !keepOpen {
		t.Response.ConnectionTokens = []string{"close"}
		t.PersistentAfter = false
		f.finish(startMs+7, s2c)
	}
	return f
}

// singleTxnConns builds n single-transaction connections from one client to one
// server, each closed idleMs after its response (end: "fin-server",
// "fin-client", "rst-server" or "rst-client" says who closes and how;
// "fin-then-rst": both FINs, then a RST from the client for late data;
// "rst-then-fin": the same FIN and RST the other way round, the client's
// RST first) and followed 5 ms later by the next. With refuse the server
// answers Connection: close.
func singleTxnConns(n int, idleMs float64, end string, refuse bool) []*fx {
	cf := &captureFx{}
	var out []*fx
	start := 0.0
	for i := range n {
		f := cf.conn(i+1, uint16(43000+i), start, 1, 0.1)
		t := f.exchange(start+1.2, 100, 5, 300)
		if refuse {
			t.Response.ConnectionTokens = []string{"close"}
			t.PersistentAfter = false
		}
		closeAt := start + 6.2 + idleMs
		switch end {
		case "fin-server":
			f.finish(closeAt, s2c)
		case "fin-client":
			f.finish(closeAt, c2s)
		case "rst-server":
			f.rst(closeAt, s2c)
		case "rst-client":
			f.rst(closeAt, c2s)
		case "fin-then-rst":
			f.finish(closeAt, s2c)
			f.data(closeAt+0.3, s2c, 10) // arrives after the client closed
			f.rst(closeAt+0.4, c2s)
		case "rst-then-fin":
			f.rst(closeAt, c2s)
			f.fin(closeAt+0.1, s2c) // crossed the RST on the wire
		default:
			panic("singleTxnConns: unknown end " + end)
		}
		out = append(out, f)
		start = closeAt + 5
	}
	return out
}

// hang: a first transaction, then a request at 500 ms that gets no response
// until the server closes closeAfterMs later.
func hang(closeAfterMs float64, respond bool) *fx {
	f := newConn(1, 0.1)
	first := f.exchange(2, 100, 5, 300)
	first.Request.ConnectionTokens = []string{"keep-alive"}
	first.Response.ConnectionTokens = []string{"keep-alive"}
	q := f.data(500, c2s, 100)
	var resp *httpflow.Message
	if respond {
		r := f.data(500+closeAfterMs-10, s2c, 300)
		resp = msg(r, r)
	}
	f.tx(msg(q, q), resp)
	f.ack(501, s2c)
	f.finish(500+closeAfterMs, s2c)
	return f
}

func TestHTTPRules(t *testing.T) {
	runCases(t, []ruleCase{
		{desc: "server says Connection: close and the client reconnects at once", rule: "CH1001", want: 1,
			build: func() []*fx {
				cf := &captureFx{}
				return []*fx{oneShot(cf, 1, 0, false), oneShot(cf, 2, 10, false), oneShot(cf, 3, 20, false)}
			},
			check: both(wantText("opened 2 new connections", "the server sent Connection: close (2x)"), wantCost(2.2))},
		{desc: "look-alike: the first connection stays open (parallel, not churn)", rule: "CH1001", want: 0,
			build: func() []*fx {
				cf := &captureFx{}
				return []*fx{oneShot(cf, 1, 0, true), oneShot(cf, 2, 10, true)}
			}},
		{desc: "look-alike: next connection minutes later", rule: "CH1001", want: 0,
			build: func() []*fx {
				cf := &captureFx{}
				return []*fx{oneShot(cf, 1, 0, false), oneShot(cf, 2, 120000, false), oneShot(cf, 3, 240000, false)}
			}},
		{desc: "look-alike: one reopening is thin evidence", rule: "CH1001", want: 0,
			build: func() []*fx { return singleTxnConns(2, 0, "fin-server", true) }},
		{desc: "one reopening when min-new-connections is 1", rule: "CH1001", want: 1,
			cfg:   Config{Thresholds: map[string]float64{"CH1001.min-new-connections": 1}},
			build: func() []*fx { return singleTxnConns(2, 0, "fin-server", true) },
			check: wantText("opened 1 new connection ", "the server sent Connection: close (1x)")},
		{desc: "server closes right after each response without a header", rule: "CH1001", want: 1,
			build: func() []*fx { return singleTxnConns(4, 0, "fin-server", false) },
			check: wantText("opened 3 new connections", "yet the server closed the connection right after the response (3x)")},
		{desc: "look-alike: each connection ends by a client RST (an abort, no header refused persistence)", rule: "CH1001", want: 0,
			build: func() []*fx { return singleTxnConns(4, 0, "rst-client", false) }},
		{desc: "look-alike: each connection ends by a server RST", rule: "CH1001", want: 0,
			build: func() []*fx { return singleTxnConns(4, 20, "rst-server", false) }},
		{desc: "both sides close with FINs, then a RST for late data: closed, not aborted", rule: "CH1001", want: 1,
			build: func() []*fx { return singleTxnConns(4, 0, "fin-then-rst", false) },
			check: wantText("opened 3 new connections", "yet the server closed the connection right after the response (3x)")},
		{desc: "look-alike: the client's RST comes before the server's FIN (an abort)", rule: "CH1001", want: 0,
			build: func() []*fx { return singleTxnConns(4, 0, "rst-then-fin", false) }},
		{desc: "RST after the server refused persistence with Connection: close", rule: "CH1001", want: 1,
			build: func() []*fx { return singleTxnConns(4, 0, "rst-client", true) },
			check: wantText("the server sent Connection: close (3x)")},
		{desc: "look-alike: the server closes each connection after 500 ms idle (keep-alive timeout)", rule: "CH1001", want: 0,
			build: func() []*fx { return singleTxnConns(4, 500, "fin-server", false) }},
		{desc: "the client closes each idle connection and opens another", rule: "CH1001", want: 1,
			build: func() []*fx { return singleTxnConns(4, 500, "fin-client", false) },
			check: wantText("the client closed the connection after it sat idle about 500 ms instead of reusing it (3x)")},
		{desc: "the server closes after idling but had said Connection: close", rule: "CH1001", want: 1,
			build: func() []*fx { return singleTxnConns(4, 500, "fin-server", true) }},

		{desc: "Proxy-Connection sent", rule: "CH1002", want: 1,
			build: func() []*fx {
				return withHeaders(func(req, _ *httpflow.Message) {
					req.HasProxyConnection, req.Extra = true, &httpflow.MessageExtra{ProxyConnection: "Keep-Alive"}
				})
			}, check: wantText(`Proxy-Connection: "Keep-Alive"`)},
		{desc: "look-alike: no Proxy-Connection", rule: "CH1002", want: 0,
			build: func() []*fx { return withHeaders(func(_, _ *httpflow.Message) {}) }},

		{desc: "Keep-Alive without the token", rule: "CH1003", want: 1,
			build: func() []*fx {
				return withHeaders(func(_, resp *httpflow.Message) { resp.Extra = &httpflow.MessageExtra{KeepAlive: "timeout=5, max=100"} })
			}},
		{desc: "look-alike: Keep-Alive with Connection: keep-alive", rule: "CH1003", want: 0,
			build: func() []*fx {
				return withHeaders(func(_, resp *httpflow.Message) {
					resp.Extra, resp.ConnectionTokens = &httpflow.MessageExtra{KeepAlive: "timeout=5, max=100"}, []string{"keep-alive"}
				})
			}},

		{desc: "HTTP/1.1 request with Connection: keep-alive", rule: "CH1004", want: 1,
			build: func() []*fx {
				return withHeaders(func(req, _ *httpflow.Message) { req.ConnectionTokens = []string{"keep-alive"} })
			}},
		{desc: "look-alike: HTTP/1.0 needs the token", rule: "CH1004", want: 0,
			build: func() []*fx {
				return withHeaders(func(req, resp *httpflow.Message) {
					req.Version, req.ConnectionTokens = "HTTP/1.0", []string{"keep-alive"}
					resp.Version, resp.ConnectionTokens = "HTTP/1.0", []string{"keep-alive"}
				})
			}},

		{desc: "Connection lists Content-Length", rule: "CH1005", want: 1,
			build: func() []*fx {
				return withHeaders(func(req, _ *httpflow.Message) { req.ConnectionTokens = []string{"close", "content-length"} })
			}, check: wantText(`"content-length"`)},
		{desc: "look-alike: Connection lists a hop-by-hop extension", rule: "CH1005", want: 0,
			build: func() []*fx {
				return withHeaders(func(req, _ *httpflow.Message) { req.ConnectionTokens = []string{"close", "x-trace-hop"} })
			}},

		{desc: "request on a reused connection unanswered for 5 s", rule: "CH1006", want: 1,
			build: func() []*fx { return one(hang(5000, false)) },
			check: both(wantCost(5000), wantText("dumb proxy"), wantText("(the 2nd transaction on a reused connection)"))},
		{desc: "look-alike: slow response that did arrive", rule: "CH1006", want: 0,
			build: func() []*fx { return one(hang(3000, true)) }},
		{desc: "look-alike: close within a millisecond (a race, not a hang)", rule: "CH1006", want: 0,
			build: func() []*fx { return one(idleRace(0.5)) }},

		{desc: "two gaps of 300 and 200 ms", rule: "CH1007", want: 1,
			build: func() []*fx { return one(serial(300, 200)) },
			check: both(wantCost(500), wantText("the longest, 300 ms, came before the connection's 2nd transaction"))},
		{desc: "look-alike: back-to-back serial transactions", rule: "CH1007", want: 0,
			build: func() []*fx { return one(serial(5, 5)) }},
		{desc: "look-alike: a client polling every 5 s", rule: "CH1007", want: 0,
			build: func() []*fx { return one(serial(5000, 5000, 5000)) }},
		{desc: "a 300 ms gap among polling gaps: only it counts", rule: "CH1007", want: 1,
			build: func() []*fx { return one(serial(5000, 300, 5000)) },
			check: both(wantCost(300), wantText("2 longer gaps over 2000 ms (up to 5000 ms), think time or polling, not counted"))},

		{desc: "second pipelined response waits behind a 1 s response", rule: "CH1008", want: 1,
			build: func() []*fx { return one(pipelined([]string{"GET", "GET"}, 1000, 1)) },
			check: wantCost(1017.9)},
		{desc: "look-alike: sequential keep-alive is not pipelining", rule: "CH1008", want: 0,
			build: func() []*fx { return one(serial(5, 5)) }},

		{desc: "12 parallel connections", rule: "CH1009", want: 1,
			build: func() []*fx { return parallel(12) }, check: wantText("had 12 connections open")},
		{desc: "look-alike: 6 parallel connections", rule: "CH1009", want: 0,
			build: func() []*fx { return parallel(6) }},

		{desc: "POST pipelined behind a GET", rule: "CH1010", want: 1,
			build: func() []*fx { return one(pipelined([]string{"GET", "POST"}, 5, 5)) }},
		{desc: "GET pipelined behind a POST", rule: "CH1010", want: 1,
			build: func() []*fx { return one(pipelined([]string{"POST", "GET"}, 5, 5)) }},
		{desc: "look-alike: pipelined GETs", rule: "CH1010", want: 0,
			build: func() []*fx { return one(pipelined([]string{"GET", "GET", "HEAD"}, 5, 5, 5)) }},

		{desc: "HTTP/1.0 pipelining before persistence is known", rule: "CH1011", want: 1,
			build: func() []*fx {
				f := pipelined([]string{"GET", "GET"}, 5, 5)
				f.txs[0].Request.Version = "HTTP/1.0"
				return one(f)
			}},
		{desc: "look-alike: HTTP/1.1 pipelining", rule: "CH1011", want: 0,
			build: func() []*fx { return one(pipelined([]string{"GET", "GET"}, 5, 5)) }},

		{desc: "two pipelined requests unanswered at close", rule: "CH1012", want: 1,
			build: func() []*fx {
				f := pipelined([]string{"GET", "GET", "GET"}, 5)
				f.finish(100, s2c)
				return one(f)
			}, check: wantText("2 requests unanswered (the connection's 2nd and 3rd transactions, pipelined")},
		{desc: "look-alike: every pipelined request answered", rule: "CH1012", want: 0,
			build: func() []*fx {
				f := pipelined([]string{"GET", "GET", "GET"}, 5, 5, 5)
				f.finish(100, s2c)
				return one(f)
			}},
	})
}

// TestMessagesQuoteCapturedText: captured text with terminal escapes, NUL
// and invalid UTF-8 reaches messages only quoted (issue 7's safe output).
func TestMessagesQuoteCapturedText(t *testing.T) {
	f := pipelined([]string{"GET", "POST"}, 5, 5)
	f.txs[1].Request.Target = "/\x1b[2J\x00\xff" + strings.Repeat("x", 200)
	f.txs[0].Request.HasProxyConnection, f.txs[0].Request.Extra = true, &httpflow.MessageExtra{ProxyConnection: "\x1b]0;owned\x07"}
	all := runRules(t, Config{}, f)
	if len(only(all, "CH1010")) == 0 || len(only(all, "CH1002")) == 0 {
		t.Fatalf("expected CH1010 and CH1002:%s", describe(all))
	}
	for _, x := range all {
		if !utf8.ValidString(x.Message) {
			t.Errorf("%s: message is not valid UTF-8: %q", x.Rule, x.Message)
		}
		for _, r := range x.Message {
			if r < 0x20 || r == 0x7f {
				t.Errorf("%s: raw control character %U in message %q", x.Rule, r, x.Message)
				break
			}
		}
		if len(x.Message) > 2000 {
			t.Errorf("%s: message of %d bytes: captured text is not cut", x.Rule, len(x.Message))
		}
	}
}
