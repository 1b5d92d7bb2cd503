package httpflow

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// splitFieldByRule is splitField without its one-pass shortcut: the
// rule as RFC 9112 section 5 reads, kept to check the shortcut against.
func splitFieldByRule(line []byte) (name, value []byte, anomaly string, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, "bad_header_line", false
	}
	name = line[:colon]
	if n := trimOWS(name); len(n) != len(name) {
		anomaly = "space_before_colon"
		name = n
	}
	if !isToken(name) {
		return nil, nil, "bad_header_line", false
	}
	return name, trimOWS(line[colon+1:]), anomaly, true
}

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
