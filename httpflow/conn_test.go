package httpflow

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/connscope/connscope/reassembly"
)

func seq(parts ...any) []op {
	var out []op
	for _, p := range parts {
		switch v := p.(type) {
		case op:
			out = append(out, v)
		case []op:
			out = append(out, v...)
		}
	}
	return out
}

const (
	getA   = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	getB   = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
	getC   = "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
	ok5    = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	ok3    = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	notMod = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
)

var parseCases = []struct {
	desc string
	ops  []op
	want []string
	app  App // default AppHTTP1
}{
	{
		desc: "single GET with Content-Length",
		ops:  seq(cli(getA), srv(ok5), closeBoth()),
		want: []string{"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent"},
	},
	{
		desc: "sequential keep-alive is not pipelining",
		ops:  seq(cli(getA), srv(ok5), cli(getB), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "pipelined requests in one segment pair in order",
		ops:  seq(cli(getA+getB+getC), srv(ok5), srv(ok3+notMod), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
			"GET /c HTTP/1.1 ok => 304 none ok pipelined persistent",
		},
	},
	{
		desc: "POST in the middle of a pipeline",
		ops: seq(cli(getA+"POST /u HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"+getB),
			srv(ok5+ok3+ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"POST /u HTTP/1.1 ok body=4 => 200 content_length ok body=3 pipelined persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
		},
	},
	{
		desc: "HEAD response has no body whatever its Content-Length",
		ops: seq(cli("HEAD /h HTTP/1.1\r\n\r\n"), srv("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
			cli(getA), srv(ok5), closeBoth()),
		want: []string{
			"HEAD /h HTTP/1.1 ok => 200 none ok persistent",
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
		},
	},
	{
		desc: "204 and 304 have no body",
		ops: seq(cli(getA+getB), srv("HTTP/1.1 204 No Content\r\n\r\n"), srv(notMod),
			closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 204 none ok persistent",
			"GET /b HTTP/1.1 ok => 304 none ok pipelined persistent",
		},
	},
	{
		desc: "chunked with extensions and trailers",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n1A\r\n"+
			strings.Repeat("z", 26)+"\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n"), cli(getB), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 chunked ok body=31 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "chunked request body",
		ops: seq(cli("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), srv(ok3),
			closeBoth()),
		want: []string{"POST /c HTTP/1.1 ok body=3 => 200 content_length ok body=3 persistent"},
	},
	{
		desc: "close-delimited HTTP/1.0 response ends at FIN",
		ops:  seq(cli("GET / HTTP/1.0\r\n\r\n"), srv("HTTP/1.0 200 OK\r\n\r\nsome body"), srv(" more"), fin(s2c), fin(c2s)),
		want: []string{"GET / HTTP/1.0 ok => 200 close_delimited ok body=14"},
	},
	{
		desc: "close-delimited response cut by RST cannot be verified",
		ops:  seq(cli("GET / HTTP/1.0\r\n\r\n"), srv("HTTP/1.0 200 OK\r\n\r\nsome body"), rst(s2c), rst(c2s)),
		want: []string{"GET / HTTP/1.0 ok => 200 close_delimited incomplete:rst body=9"},
	},
	{
		desc: "response truncated by FIN",
		ops:  seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"), fin(s2c), fin(c2s)),
		want: []string{"GET /a HTTP/1.1 ok => 200 content_length incomplete:fin body=9 persistent"},
	},
	{
		desc: "response truncated by RST",
		ops:  seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"), rst(c2s), rst(s2c)),
		want: []string{"GET /a HTTP/1.1 ok => 200 content_length incomplete:rst body=9 persistent"},
	},
	{
		desc: "chunked body without its last chunk",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
			fin(s2c), fin(c2s)),
		want: []string{"GET /a HTTP/1.1 ok => 200 chunked incomplete:fin body=5 persistent"},
	},
	{
		desc: "capture ends mid-response",
		ops:  seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), eoc(c2s), eoc(s2c)),
		want: []string{"GET /a HTTP/1.1 ok => 200 content_length incomplete:end_of_capture body=3 persistent"},
	},
	{
		desc: "Expect 100-continue: interim, then the body, then the final response",
		ops: seq(cli("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n"),
			srv("HTTP/1.1 100 Continue\r\n\r\n"), cli("abcdef"), srv(ok5), closeBoth()),
		want: []string{"POST /up HTTP/1.1 ok body=6 => 100 ok 200 content_length ok body=5 persistent"},
	},
	{
		desc: "several 1xx before the final response",
		ops: seq(cli(getA), srv("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"),
			srv(ok5), closeBoth()),
		want: []string{"GET /a HTTP/1.1 ok => 100 ok 103 ok 200 content_length ok body=5 persistent"},
	},
	{
		desc: "CONNECT 200 opens a tunnel",
		ops: seq(cli("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
			srv("HTTP/1.1 200 Connection established\r\n\r\n"), cli("\x16\x03\x01\x02\x00binary"),
			srv("\x16\x03\x03\x00\x10binary"), cli("GET /inside HTTP/1.1\r\n\r\n"), closeBoth()),
		want: []string{"CONNECT example.com:443 HTTP/1.1 ok => 200 tunnel ok tunnel"},
	},
	{
		desc: "CONNECT with the client's tunnel bytes sent before the 200",
		ops: seq(cli("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), cli("\x16\x03\x01\x02\x00hello"),
			srv("HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"), closeBoth()),
		want: []string{"CONNECT example.com:443 HTTP/1.1 ok => 200 tunnel ok tunnel"},
	},
	{
		desc: "CONNECT refused is not a tunnel",
		ops: seq(cli("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), srv("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n"),
			cli(getA), srv(ok5), closeBoth()),
		want: []string{
			"CONNECT example.com:443 HTTP/1.1 ok => 407 content_length ok persistent",
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
		},
	},
	{
		desc: "101 Switching Protocols",
		ops: seq(cli("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
			srv("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
			cli("\x81\x85mask!"), closeBoth()),
		want: []string{"GET /ws HTTP/1.1 ok => 101 tunnel ok tunnel"},
	},
	{
		desc: "TLS is labelled and skipped",
		ops:  seq(cli("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"), srv("\x16\x03\x03\x00\x5a"), closeBoth()),
		app:  AppTLS,
	},
	{
		desc: "HTTP/2 preface is labelled and skipped",
		ops:  seq(cli("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"), srv("\x00\x00\x06\x04\x00"), closeBoth()),
		app:  AppHTTP2,
	},
	{
		desc: "binary protocol is unknown",
		ops:  seq(cli("\x00\x01\x02\x03 GET / HTTP/1.1\r\n"), srv("HTTP/1.1 200 OK\r\n\r\n"), closeBoth()),
		app:  AppUnknown,
	},
	{
		desc: "server speaking first with a banner is unknown",
		ops:  seq(srv("SSH-2.0-OpenSSH_9.6\r\n"), cli(getA), closeBoth()),
		app:  AppUnknown,
	},
	{
		desc: "text protocol that is not HTTP is unknown",
		ops:  seq(cli("EHLO mail.example.com\r\n"), srv("250 ok\r\n"), closeBoth()),
		app:  AppUnknown,
	},
	{
		desc: "request never answered",
		ops:  seq(cli(getA), srv(ok5), cli(getB), fin(c2s), fin(s2c)),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => (no response)",
		},
	},
	{
		desc: "gap inside a Content-Length body keeps sync",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"), gapOp(s2c, 5), srv("xyz"),
			cli(getB), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length incomplete:gap body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "gap past the end of a response resynchronises at the next status line",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"), cli(getB), gapOp(s2c, 30),
			srv("tail of something\r\n"+ok3), cli(getC), srv(ok5), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length incomplete:gap body=2 persistent",
			// Pipelined: in capture order /b left before /a's response
			// was seen to end (its end was lost in the gap).
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
			"GET /c HTTP/1.1 ok => 200 content_length ok body=5 persistent",
		},
	},
	{
		desc: "gap in response headers, later transactions pair right",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Le"), gapOp(s2c, 40), srv("x\r\n"), cli(getB),
			srv(ok5), cli(getC), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 none incomplete:gap",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /c HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "gap in a request resynchronises at the next request line",
		ops: seq(cli("POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nab"), gapOp(c2s, 100),
			cli("cd\r\n0\r\n\r\n"+getB), srv(ok5+ok3), closeBoth()),
		want: []string{
			"POST /u HTTP/1.1 incomplete:gap body=2 => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
		},
	},
	{
		desc: "a request lost whole in a client gap does not shift the pairs after it",
		// The server's acknowledgment numbers show which requests it had
		// when it answered: the first 200 went out before it had any of
		// /c, so it answers the lost request.
		ops: seq(cli(getA), gapOp(c2s, int64(len(getB))), cli(getC),
			ackedUpTo(len(getA), srv(ok5)), ackedUpTo(len(getA+getB), srv(ok3)),
			ackedUpTo(len(getA+getB+getC), srv(ok5)), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"(no request) => 200 content_length ok body=3 persistent",
			"GET /c HTTP/1.1 ok => 200 content_length ok body=5 pipelined persistent",
		},
	},
	{
		desc: "a response lost whole in a server gap does not shift the pairs after it",
		// /c left after the client had received 1 more response than when
		// /b left, and those bytes are the ones the capture lost.
		ops: seq(ackedUpTo(0, cli(getA)), srv(ok5), ackedUpTo(len(ok5), cli(getB)),
			ackedUpTo(len(ok5+ok3), cli(getC)), gapOp(s2c, int64(len(ok3))), srv(ok5), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok !response_lost_in_gap => (no response)",
			"GET /c HTTP/1.1 ok => 200 content_length ok body=5 persistent",
		},
	},
	{
		desc: "acknowledgments tell sequential from pipelined across a gap",
		// In capture order /b leaves before the end of /a's response is
		// seen (it was lost), but /b acknowledges all of that response.
		ops: seq(ackedUpTo(0, cli(getA)), srv("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"),
			ackedUpTo(len("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")+10, cli(getB)), gapOp(s2c, 8), srv(ok3),
			closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length incomplete:gap body=2 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "request line cut by a gap is kept as an incomplete request",
		ops:  seq(cli("GET /lost-in-the-mid"), gapOp(c2s, 20), cli(getB), srv(ok5+ok3), closeBoth()),
		want: []string{
			"GET /lost-in-the-mid  incomplete:gap => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
		},
	},
	{
		desc: "Transfer-Encoding with Content-Length: chunked wins",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
			cli(getB), srv(ok5), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 chunked ok body=3 !te_and_cl persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=5 persistent",
		},
	},
	{
		desc: "repeated and conflicting Content-Length",
		ops: seq(cli(getA+getB), srv("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
			srv("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabc"), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=3 !repeated_content_length persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 !conflicting_content_length pipelined persistent",
		},
	},
	{
		desc: "body beyond Content-Length",
		ops:  seq(cli(getA), srv(ok5+"EXTRA BYTES\r\n"), cli(getB), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 !body_beyond_content_length persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "bad chunk size is malformed and the parser recovers",
		ops: seq(cli(getA), srv("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"),
			cli(getB), srv(ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 chunked incomplete:malformed !bad_chunk_size persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 persistent",
		},
	},
	{
		desc: "malformed request line is kept and answered",
		ops: seq(cli("GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n"), srv("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
			closeBoth()),
		want: []string{"GET /a b c HTTP/1.1 incomplete:malformed !bad_request_line => 400 content_length ok"},
	},
	{
		desc: "HTTP/1.0 keep-alive needs both sides",
		ops: seq(cli("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
			srv("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 1\r\n\r\n1"),
			cli("GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
			srv("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n2"), closeBoth()),
		want: []string{
			"GET /1 HTTP/1.0 ok => 200 content_length ok body=1 persistent",
			"GET /2 HTTP/1.0 ok => 200 content_length ok body=1",
		},
	},
	{
		desc: "Connection: close on either side ends persistence",
		ops: seq(cli("GET /1 HTTP/1.1\r\nConnection: close\r\n\r\n"), srv(ok5),
			cli(getB), srv("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"), closeBoth()),
		want: []string{
			"GET /1 HTTP/1.1 ok => 200 content_length ok body=5",
			"GET /b HTTP/1.1 ok => 200 content_length ok",
		},
	},
	{
		desc: "leading empty lines between messages are tolerated",
		ops:  seq(cli(getA+"\r\n"+getB), srv(ok5+"\r\n"+ok3), closeBoth()),
		want: []string{
			"GET /a HTTP/1.1 ok => 200 content_length ok body=5 persistent",
			"GET /b HTTP/1.1 ok => 200 content_length ok body=3 pipelined persistent",
		},
	},
	{
		desc: "bare LF line endings",
		ops:  seq(cli("GET /lf HTTP/1.1\nHost: x\n\n"), srv("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), closeBoth()),
		want: []string{"GET /lf HTTP/1.1 ok !bare_lf => 200 content_length ok body=2 !bare_lf persistent"},
	},
	{
		desc: "early final response to Expect without the body",
		ops: seq(cli("PUT /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
			srv("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"), cli("12345"), closeBoth()),
		want: []string{"PUT /big HTTP/1.1 ok body=5 => 417 content_length ok persistent"},
	},
	{
		desc: "response with no request captured",
		ops:  seq(srv("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), closeBoth()),
		want: []string{"(no request) => 408 content_length ok"},
	},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.desc, func(t *testing.T) {
			wantApp := tc.app
			if wantApp == "" {
				wantApp = AppHTTP1
			}
			r := rand.New(rand.NewPCG(1, uint64(len(tc.desc))))
			for _, sp := range []struct {
				name  string
				split splitter
			}{{"whole", whole}, {"bytewise", bytewise}, {"random", randomSplit(r)}} {
				p := run(testConn(), Config{}, tc.ops, sp.split)
				if p.App() != wantApp {
					t.Errorf("%s: App() = %q, want %q", sp.name, p.App(), wantApp)
				}
				got := render(p.Transactions())
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Errorf("%s delivery:\n got:\n  %s\nwant:\n  %s", sp.name, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
				}
			}
		})
	}
}

var _ reassembly.StreamConsumer = (*Conn)(nil)
