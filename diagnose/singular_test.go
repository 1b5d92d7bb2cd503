package diagnose

import (
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
)

// TestCountsOfOne: a message that counts one of something says so in the
// singular ("1 byte", "1 more finding ... was"), never "1 bytes".
func TestCountsOfOne(t *testing.T) {
	noOnePlural := func(t *testing.T, fs []Finding) {
		t.Helper()
		for _, f := range fs {
			for _, s := range append([]string{f.Message}, relatedMessages(f)...) {
				for _, bad := range []string{" 1 bytes", "(1 bytes", " 1 body bytes", " 1 findings", " 1 flights", " 1 connections", " 1 requests", " 1 responses"} {
					if strings.Contains(s, bad) {
						t.Errorf("%s says %q: %s", f.Rule, strings.TrimSpace(bad), s)
					}
				}
			}
		}
	}
	runCases(t, []ruleCase{
		{desc: "a one-byte segment acknowledged late", rule: "CT1003", want: 1,
			build: func() []*fx {
				f := newConn(0.1, 10) // capture near the server
				q := f.data(10.2, c2s, 200)
				x := f.data(11, s2c, 1)
				f.ack(61, c2s)
				y := f.data(61.05, s2c, 1460)
				f.ack(71.1, c2s)
				f.tx(msg(q, q), msg(x, y))
				return one(f)
			}, check: both(noOnePlural, wantText("(1 byte) was acknowledged"))},
		{desc: "one byte held by Nagle after one byte", rule: "CT1007", want: 1,
			build: func() []*fx {
				f := newConn(10, 0.1)
				x := f.data(20, c2s, 1)
				f.ack(70, s2c)
				y := f.data(70.05, c2s, 1)
				r := f.data(85, s2c, 300)
				f.tx(msg(x, y), msg(r, r))
				f.finish(100, c2s)
				return one(f)
			}, check: both(noOnePlural, wantText("held 1 byte (frame", "acknowledged the 1 byte before it"))},
		{desc: "window shrunk to one byte", rule: "CC1005", want: 1,
			build: func() []*fx { return one(shrunkWindowReset(65535, 1, 1460)) },
			check: both(noOnePlural, wantText("from 65535 to 1 byte (frame", "about 65534 bytes it had received were still unread"))},
		{desc: "one byte unread behind a shrunk window", rule: "CC1005", want: 1,
			build: func() []*fx { return one(shrunkWindowReset(2, 1, 1)) },
			check: both(noOnePlural, wantText("from 2 to 1 byte (frame", "about 1 byte it had received was still unread"))},
		{desc: "one finding left out on a connection", rule: "CH1010", want: maxFindingsPerRule,
			build: func() []*fx {
				methods := make([]string, maxFindingsPerRule+2) // the first is not pipelined
				for i := range methods {
					methods[i] = "POST"
				}
				posts := pipelined(methods, 1)
				posts.finish(5000, s2c)
				return one(posts)
			},
			check: func(t *testing.T, fs []Finding) {
				last := fs[len(fs)-1].Message
				if !strings.Contains(last, "(1 more CH1010 finding on this connection was left out)") {
					t.Errorf("last finding: %q, want it to say 1 more finding was left out", last)
				}
			}},
	})
}

// shrunkWindowReset: a complete exchange, after which the client, having
// advertised a receive window of peak bytes and then last, resets the
// connection with a RST that acknowledges everything (so nothing is in
// flight toward it). Both MSS are mss.
func shrunkWindowReset(peak, last uint16, mss uint16) *fx {
	f := newConn(1, 0.1)
	f.c.Handshake.ClientMSS, f.c.Handshake.ServerMSS = mss, mss
	f.exchange(2, 100, 5, 300)
	for i := range f.c.Segments {
		if s := &f.c.Segments[i]; s.Dir == c2s && !flagsOf(s).Has(capture.FlagSYN) {
			s.Window = uint32(peak)
		}
	}
	a := f.ack(7, c2s)
	a.Window = uint32(last)
	f.rst(7.1, c2s)
	return f
}

func relatedMessages(f Finding) []string {
	var out []string
	for _, r := range f.Related {
		out = append(out, r.Message)
	}
	return out
}
