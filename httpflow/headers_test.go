package httpflow

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSplitFieldMatchesTheRule(t *testing.T) {
	lines := []string{
		"Host: x", "Host:x", "Host :x", " Host: x", "Host\t: x", ": x", "", ":", "Host:",
		"Ho st: x", "Host: a: b", "Host; x", "X-Ünï: y", "a:b:c", "Host:  x \t", "H\x00st: x",
	}
	r := rand.New(rand.NewPCG(3, 7))
	alphabet := []byte("Hh-_:  \t\x00\x80~;,=")
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		lines = append(lines, string(b))
	}
	for _, l := range lines {
		n, v, a, ok := splitField([]byte(l))
		wn, wv, wa, wok := splitFieldByRule([]byte(l))
		if string(n) != string(wn) || string(v) != string(wv) || a != wa || ok != wok {
			t.Errorf("splitField(%q) = %q, %q, %q, %v; the rule says %q, %q, %q, %v", l, n, v, a, ok, wn, wv, wa, wok)
		}
	}
}

// everythingButFields renders every field of the transactions except the
// lists of header fields and trailers, which Config.DropHeaderFields
// leaves out.
func everythingButFields(txns []*Transaction) string {
	var b strings.Builder
	msg := func(m *Message) {
		if m == nil {
			b.WriteString("  nil\n")
			return
		}
		c := *m
		var x MessageExtra
		if c.Extra != nil {
			x = *c.Extra
		}
		x.Headers, x.Trailers = nil, nil
		c.Extra = nil // an address; what it holds is written after
		fmt.Fprintf(&b, "  %+v %+v\n", c, x)
	}
	for _, t := range txns {
		c := *t
		c.Request, c.Interim, c.Response = nil, nil, nil
		fmt.Fprintf(&b, "%+v\n", c)
		msg(t.Request)
		for _, m := range t.Interim {
			msg(m)
		}
		msg(t.Response)
	}
	return b.String()
}

// checkDropHeaderFields runs ops with and without Config.DropHeaderFields
// and requires the same transactions, apart from the field lists, which
// must be nil.
func checkDropHeaderFields(t *testing.T, cfg Config, ops []op, split splitter) {
	t.Helper()
	kept := run(testConn(), cfg, ops, split)
	cfg.DropHeaderFields = true
	dropped := run(testConn(), cfg, ops, split)
	for _, tx := range dropped.Transactions() {
		for _, m := range append([]*Message{tx.Request, tx.Response}, tx.Interim...) {
			if m != nil && (m.Headers() != nil || m.Trailers() != nil) {
				t.Fatalf("DropHeaderFields kept %d fields and %d trailers", len(m.Headers()), len(m.Trailers()))
			}
		}
	}
	if a, b := everythingButFields(kept.Transactions()), everythingButFields(dropped.Transactions()); a != b || kept.App() != dropped.App() {
		t.Errorf("DropHeaderFields changed more than the field lists:\nkept (%s):\n%s\ndropped (%s):\n%s", kept.App(), a, dropped.App(), b)
	}
}

// Every scenario of the parser's tests, and one with every connection
// management header twice and in odd case, give the same transactions
// with and without the field lists, whole and byte by byte.
func TestDropHeaderFieldsChangesNothingElse(t *testing.T) {
	odd := "HTTP/1.0 200 OK\r\nconnection: Keep-Alive, X-Thing\r\nKEEP-ALIVE: timeout=5\r\nKeep-Alive: max=9\r\n" +
		"Proxy-Connection: close\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nok"
	// The second message of each direction reuses the header block's
	// buffer: what the first kept of it must have been copied out.
	req := "GET / HTTP/1.0\r\nConnection: keep-alive, foo\r\nExpect: 100-continue\r\nProxy-Connection: Keep-Alive\r\n\r\n"
	second := "HTTP/1.0 200 OK\r\nConnection: zzzzzzzzzzzz, YYYYYYY\r\nKeep-Alive: zzzzzzzzzzzzzzzz\r\n" +
		"Proxy-Connection: zzzzzzzzz\r\nUpgrade: zzzzzzzz\r\nContent-Length: 0\r\n\r\n"
	// Folded lines after a field that is copied and after one that is only
	// counted, and caps reached by fields that are only counted: the
	// Content-Length and Connection beyond them are still read.
	folded := "GET /f HTTP/1.1\r\nX-Long: aaaaaaaaaa\r\n bbbbbbbbbb\r\nConnection: keep-alive\r\n\t, close\r\n" +
		"Accept: */*\r\nAccept-Language: en\r\n\r\n"
	capped := "HTTP/1.1 200 OK\r\nServer: x\r\nDate: y\r\nVary: z\r\nContent-Length: 3\r\nConnection: close\r\n" +
		"Content-Length: 4\r\n\r\nabc"
	scenarios := [][]op{
		seq(cli(req+strings.ReplaceAll(req, "o", "q")), srv(odd+second), fin(s2c), fin(c2s)),
		seq(cli(folded), srv(capped), fin(s2c), fin(c2s)),
	}
	for _, tc := range parseCases {
		scenarios = append(scenarios, tc.ops)
	}
	for _, ops := range scenarios {
		for _, cfg := range []Config{{}, {MaxHeaderBytes: 40, MaxHeaders: 2}, {MaxHeaderBytes: 64, MaxHeaders: 4}} {
			checkDropHeaderFields(t, cfg, ops, whole)
			checkDropHeaderFields(t, cfg, ops, bytewise)
		}
	}
}
