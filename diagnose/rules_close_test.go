package diagnose

import (
	"testing"

	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

// cutResponse: a GET answered by a response whose body (declared 10000
// bytes) stops after 4000, ended by how ("fin" or "rst") from the server.
func cutResponse(framing httpflow.Framing, how httpflow.Incomplete) *fx {
	f := newConn(1, 0.1)
	q := f.data(2, c2s, 100)
	a := f.data(5, s2c, 1460)
	b := f.data(5.1, s2c, 2840)
	resp := msg(a, b)
	t := f.tx(msg(q, q), resp)
	resp.Framing, resp.BodyBytes, resp.DeclaredLength = framing, 4000, -1
	resp.Complete, resp.Incomplete = false, how
	if framing == httpflow.FramingContentLength {
		resp.DeclaredLength = 10000
	}
	t.PersistentAfter = false
	if how == httpflow.IncompleteRST {
		f.rst(6, s2c)
	} else {
		f.finish(6, s2c)
	}
	return f
}

// headWithLength: HEAD answered by a Content-Length with no body, as it must.
func headWithLength() *fx {
	f := newConn(1, 0.1)
	t := f.exchange(2, 100, 5, 200)
	t.Request.Method = "HEAD"
	t.Response.Framing, t.Response.DeclaredLength, t.Response.BodyBytes = httpflow.FramingNone, 10000, 0
	f.finish(50, c2s)
	return f
}

// closeDelimited: an HTTP/1.0 response without a length, ended by the
// server's FIN or RST.
func closeDelimited(rst bool) *fx {
	f := newConn(1, 0.1)
	t := f.exchange(2, 100, 5, 5000)
	t.Response.Framing, t.Response.DeclaredLength, t.Response.Version = httpflow.FramingCloseDelimited, -1, "HTTP/1.0"
	t.PersistentAfter = false
	if rst {
		f.rst(8, s2c)
	} else {
		f.finish(8, s2c)
	}
	return f
}

// serverResetsPipelined: the first request is answered, a second pipelined
// one reaches the server, which resets the connection without a FIN.
func serverResetsPipelined() *fx {
	f := pipelined([]string{"GET", "GET"}, 5)
	f.ack(30, c2s)
	f.rst(31, s2c)
	f.c.RSTWithUnreadData = true
	return f
}

// clientResetUnacked: a complete exchange that the client resets before it
// acknowledged the response. With ackedByRST the RST's own ACK covers the
// response, as a Linux RST after the data arrived does, and reassembly does
// not flag unread data; otherwise the RST acknowledges only the first 100
// bytes, the rest was still in flight toward the client, and reassembly
// flags it.
func clientResetUnacked(ackedByRST bool) *fx {
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	rst := f.rst(7.1, c2s)
	if !ackedByRST {
		rst.Ack -= 200
	}
	f.c.RSTWithUnreadData = !ackedByRST
	return f
}

// clientResetAfterFIN: a complete exchange, the server closes with FIN,
// and the client answers with RST (abortive close).
func clientResetAfterFIN() *fx {
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	f.fin(8, s2c)
	f.rst(8.5, c2s)
	return f
}

// dataAfterClose: the server answers and closes; the client sends data
// sendMs after the server's FIN, and the server answers it with RST.
func dataAfterClose(sendMs float64) *fx {
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	f.fin(10, s2c)
	f.ack(10.1, c2s)
	f.data(10+sendMs, c2s, 500)
	f.rst(10+sendMs+1, s2c)
	return f
}

// retransmitAfterClose: the server answers and closes; 2 s later the
// client sends again (kind) the request bytes it first sent before the FIN,
// and the server answers with RST. The retransmission is TCP recovering
// bytes the peer never acknowledged, not the client writing after it could
// have seen the FIN.
func retransmitAfterClose(kind reassembly.SegmentKind) *fx {
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	f.fin(10, s2c)
	f.ack(10.1, c2s)
	f.resend(2010, c2s, 1, 100, kind)
	f.rst(2011, s2c)
	return f
}

// idleRace: one transaction, 5 s idle, then the server's FIN and the
// client's next request crossMs after it (negative: before it).
func idleRace(crossMs float64) *fx {
	f := newConn(1, 0.1)
	f.exchange(2, 100, 5, 300)
	fin := 5010.0
	f.fin(fin, s2c)
	q := f.data(fin+crossMs, c2s, 100)
	f.tx(msg(q, q), nil)
	f.rst(fin+crossMs+1.1, s2c)
	return f
}

// retried: connection 1's last request (method) dies unanswered with a RST;
// connection 2 sends the same request 100 ms later.
func retried(method string) []*fx {
	cf := &captureFx{}
	a := cf.conn(1, 43000, 0, 1, 0.1)
	q := a.data(2, c2s, 400)
	t := a.tx(msg(q, q), nil)
	t.Request.Method, t.Request.Target, t.Request.BodyBytes = method, "/pay", 300
	a.rst(3000, s2c)
	b := cf.conn(2, 43001, 3100, 1, 0.1)
	q2 := b.data(3101.2, c2s, 400)
	r2 := b.data(3110, s2c, 300)
	t2 := b.tx(msg(q2, q2), msg(r2, r2))
	t2.Request.Method, t2.Request.Target, t2.Request.BodyBytes = method, "/pay", 300
	b.finish(3200, c2s)
	return []*fx{a, b}
}

func TestCloseRules(t *testing.T) {
	runCases(t, []ruleCase{
		{desc: "Content-Length body cut by RST", rule: "CC1001", want: 1,
			build: func() []*fx { return one(cutResponse(httpflow.FramingContentLength, httpflow.IncompleteRST)) },
			check: wantText("cut 6000 bytes short by a RST: 4000 of 10000")},
		{desc: "Content-Length body cut by FIN", rule: "CC1001", want: 1,
			build: func() []*fx { return one(cutResponse(httpflow.FramingContentLength, httpflow.IncompleteFIN)) }},
		{desc: "look-alike: HEAD response with a Content-Length", rule: "CC1001", want: 0,
			build: func() []*fx { return one(headWithLength()) }},
		{desc: "look-alike: the capture missed the rest of the body, then FIN", rule: "CC1001", want: 0,
			build: func() []*fx {
				f := cutResponse(httpflow.FramingContentLength, httpflow.IncompleteGap)
				f.c.Dir[s2c].LostBytes = 6000
				return one(f)
			}},
		{desc: "capture gap, then a FIN before the rest of the body", rule: "CC1001", want: 1,
			build: func() []*fx {
				f := cutResponse(httpflow.FramingContentLength, httpflow.IncompleteGap)
				f.c.Dir[s2c].LostBytes = 1000
				return one(f)
			}, check: wantText("cut 5000 bytes short by a FIN", "1000 bytes the capture missed")},
		{desc: "look-alike: capture gap and the capture ended", rule: "CC1001", want: 0,
			build: func() []*fx {
				f := newConn(1, 0.1)
				q := f.data(2, c2s, 100)
				a := f.data(5, s2c, 1460)
				resp := msg(a, a)
				f.tx(msg(q, q), resp)
				resp.BodyBytes, resp.DeclaredLength, resp.Complete, resp.Incomplete = 1000, 10000, false, httpflow.IncompleteGap
				f.c.Dir[s2c].LostBytes = 1000
				return one(f)
			}},

		{desc: "chunked body without its last chunk", rule: "CC1002", want: 1,
			build: func() []*fx { return one(cutResponse(httpflow.FramingChunked, httpflow.IncompleteFIN)) }},
		{desc: "look-alike: chunked body still open at the end of the capture", rule: "CC1002", want: 0,
			build: func() []*fx { return one(cutResponse(httpflow.FramingChunked, httpflow.IncompleteEndOfCapture)) }},

		{desc: "close-delimited body ended by RST", rule: "CC1003", want: 1,
			build: func() []*fx { return one(closeDelimited(true)) }, check: wantText("cannot be verified")},
		{desc: "look-alike: close-delimited body ended by FIN", rule: "CC1003", want: 0,
			build: func() []*fx { return one(closeDelimited(false)) }},
		{desc: "close-delimited body ended by FIN", rule: "CC1010", want: 1,
			build: func() []*fx { return one(closeDelimited(false)) }},
		{desc: "look-alike: close-delimited body ended by RST is CC1003's", rule: "CC1010", want: 0,
			build: func() []*fx { return one(closeDelimited(true)) }},

		{desc: "bytes beyond Content-Length", rule: "CC1004", want: 1,
			build: func() []*fx {
				return withHeaders(func(_, resp *httpflow.Message) {
					resp.Extra = &httpflow.MessageExtra{Anomalies: []string{beyondLengthAnomaly}}
				})
			}},
		{desc: "look-alike: other anomaly", rule: "CC1004", want: 0,
			build: func() []*fx {
				return withHeaders(func(_, resp *httpflow.Message) { resp.Extra = &httpflow.MessageExtra{Anomalies: []string{"obs_fold"}} })
			}},

		{desc: "server resets with a pipelined request unread", rule: "CC1005", want: 1,
			build: func() []*fx { return one(serverResetsPipelined()) },
			check: wantText("the server reset the connection", "1 request it never answered", "after every response")},
		{desc: "reset that cut the response short", rule: "CC1005", want: 1,
			build: func() []*fx {
				f := cutResponse(httpflow.FramingContentLength, httpflow.IncompleteRST)
				f.c.RSTWithUnreadData = true
				f.c.Segments[len(f.c.Segments)-1].Ack -= 50 // the request's last bytes were in flight
				return one(f)
			}, check: wantText("cutting the response to")},
		{desc: "look-alike: client resets after the server's FIN, nothing unread", rule: "CC1005", want: 0,
			build: func() []*fx { return one(clientResetAfterFIN()) }},
		{desc: "client resets with response bytes in flight toward it", rule: "CC1005", want: 1,
			build: func() []*fx { return one(clientResetUnacked(false)) },
			check: wantText("the client reset the connection", "data in flight toward it")},
		{desc: "look-alike: the RST itself acknowledges the whole response", rule: "CC1005", want: 0,
			build: func() []*fx { return one(clientResetUnacked(true)) }},
		{desc: "RST with unread flag but no record of it: the flag stands", rule: "CC1005", want: 1,
			build: func() []*fx {
				f := clientResetUnacked(false)
				f.c.Segments = f.c.Segments[:len(f.c.Segments)-1] // the RST's record was released
				return one(f)
			}, check: wantText("data in flight toward it")},

		{desc: "client resets after a complete response", rule: "CC1006", want: 1,
			build: func() []*fx { return one(clientResetAfterFIN()) }},
		{desc: "client resets before acknowledging a response the RST acknowledges", rule: "CC1006", want: 1,
			build: func() []*fx { return one(clientResetUnacked(true)) }},
		{desc: "look-alike: response bytes still in flight toward the client", rule: "CC1006", want: 0,
			build: func() []*fx { return one(clientResetUnacked(false)) }},
		{desc: "look-alike: the RST cut the response", rule: "CC1006", want: 0,
			build: func() []*fx { return one(cutResponse(httpflow.FramingContentLength, httpflow.IncompleteRST)) }},

		{desc: "client writes 2 s after the server closed", rule: "CC1007", want: 1,
			build: func() []*fx { return one(dataAfterClose(2000)) }},
		{desc: "look-alike: request crossed the FIN", rule: "CC1007", want: 0,
			build: func() []*fx { return one(dataAfterClose(0.05)) }},
		{desc: "look-alike: the client retransmits, 2 s after the FIN, bytes it first sent before it", rule: "CC1007", want: 0,
			build: func() []*fx { return one(retransmitAfterClose(reassembly.KindRetransmission)) }},
		{desc: "look-alike: a fast retransmission after the FIN", rule: "CC1007", want: 0,
			build: func() []*fx { return one(retransmitAfterClose(reassembly.KindFastRetransmission)) }},
		{desc: "look-alike: a RST drawn by a retransmission after the FIN is no abortive close", rule: "CC1006", want: 0,
			build: func() []*fx { return one(retransmitAfterClose(reassembly.KindRetransmission)) }},

		{desc: "POST resent on a new connection", rule: "CC1008", want: 1,
			build: func() []*fx { return retried("POST") }, check: wantText(`"POST" "/pay"`)},
		{desc: "look-alike: GET resent", rule: "CC1008", want: 0,
			build: func() []*fx { return retried("GET") }},

		{desc: "request crosses the server's idle close", rule: "CC1009", want: 1,
			build: func() []*fx { return one(idleRace(0.05)) }},
		{desc: "request just before the close, unseen by the server", rule: "CC1009", want: 1,
			build: func() []*fx { return one(idleRace(-0.5)) }},
		{desc: "look-alike: request long after the close", rule: "CC1009", want: 0,
			build: func() []*fx { return one(idleRace(2000)) }},
		{desc: "look-alike: dumb-proxy hang", rule: "CC1009", want: 0,
			build: func() []*fx { return one(hang(5000, false)) }},
	})
}

// earlyAnswer: a POST whose 20 kB body is still arriving when the server
// answers 413 and closes with the rest unread: the kernel resets.
func earlyAnswer(reset bool) *fx {
	f := newConn(1, 0.1)
	h := f.data(2, c2s, 300)
	f.data(2.1, c2s, 1448)
	r := f.data(3, s2c, 200)
	last := f.data(3.2, c2s, 1448)
	t := f.tx(msg(h, last), msg(r, r))
	t.Request.Method = "POST"
	t.Response.Status = 413
	t.PersistentAfter = false
	if reset {
		f.rst(4, s2c)
	} else {
		f.finish(4, s2c)
	}
	return f
}

func TestResetEvidence(t *testing.T) {
	runCases(t, []ruleCase{
		{desc: "server answers an upload early and resets with its body unread", rule: "CC1005", want: 1,
			build: func() []*fx { return one(earlyAnswer(true)) },
			check: wantText("before its request had fully arrived")},
		{desc: "look-alike: the same early answer closed with FIN", rule: "CC1005", want: 0,
			build: func() []*fx { return one(earlyAnswer(false)) }},
		{desc: "client stops reading a response and resets", rule: "CC1005", want: 1,
			build: func() []*fx {
				f := cutResponse(httpflow.FramingContentLength, httpflow.IncompleteRST)
				f.c.Segments[len(f.c.Segments)-1].Dir = c2s
				f.c.RSTBy, f.c.ClosedFirstBy = reassembly.RoleClient, reassembly.RoleClient
				f.c.Dir[c2s].RSTFrame, f.c.Dir[c2s].RSTTime = f.c.Dir[s2c].RSTFrame, f.c.Dir[s2c].RSTTime
				f.c.Dir[s2c].RSTFrame, f.c.Dir[s2c].RSTTime = 0, 0
				return one(f)
			}, check: wantText("the client stopped reading the response", "cutting the response to")},
	})
}
