package main

import (
	"bytes"
	"testing"
)

// ipv4TCP builds an Ethernet frame with an IPv4 TCP segment.
func ipv4TCP(flags byte, payload string, vlan bool) []byte {
	eth := make([]byte, 12)
	if vlan {
		eth = append(eth, 0x81, 0x00, 0x00, 100)
	}
	eth = append(eth, 0x08, 0x00)
	ip := make([]byte, 20)
	ip[0] = 0x45
	total := 20 + 20 + len(payload)
	ip[2], ip[3] = byte(total>>8), byte(total)
	ip[9] = 6
	tcp := make([]byte, 20)
	tcp[12] = 5 << 4
	tcp[13] = flags
	return append(append(append(eth, ip...), tcp...), payload...)
}

func TestParseTCP(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		frame   []byte
		ok      bool
		flags   byte
		payload string
	}{
		{"SYN", ipv4TCP(flagSYN, "", false), true, flagSYN, ""},
		{"data", ipv4TCP(flagACK, "GET / HTTP/1.1", false), true, flagACK, "GET / HTTP/1.1"},
		{"behind 802.1Q", ipv4TCP(flagACK|flagFIN, "x", true), true, flagACK | flagFIN, "x"},
		{"truncated", ipv4TCP(flagACK, "abc", false)[:30], false, 0, ""},
		{"ARP", append(make([]byte, 12), 0x08, 0x06, 0, 1), false, 0, ""},
		{"empty", nil, false, 0, ""},
	} {
		seg, ok := parseTCP(tc.frame)
		if ok != tc.ok || (ok && (seg.flags != tc.flags || string(seg.payload) != tc.payload)) {
			t.Errorf("%s: got %+v ok=%v, want flags %x payload %q ok=%v", tc.desc, seg, ok, tc.flags, tc.payload, tc.ok)
		}
	}
}

func TestDropRuleCountsOnlyMatchingFrames(t *testing.T) {
	r, err := parseDropRule("b2a:data:2")
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]byte{
		ipv4TCP(flagACK, "", false),    // pure ACK: not data
		ipv4TCP(flagACK, "one", false), // data 1
		ipv4TCP(flagACK, "two", false), // data 2: the one to drop
	}
	var matched []int
	for i, f := range frames {
		if r.matches(f) {
			r.seen++
			if r.seen == r.ordinal {
				matched = append(matched, i)
			}
		}
	}
	if len(matched) != 1 || matched[0] != 2 {
		t.Errorf("dropped frames %v, want [2]", matched)
	}
	has, err := parseDropRule("a2b:has=/loss/3:1")
	if err != nil {
		t.Fatal(err)
	}
	if !has.matches(ipv4TCP(flagACK, "GET /loss/3 HTTP/1.1", false)) || has.matches(ipv4TCP(flagACK, "GET /loss/2", false)) {
		t.Error("has= rule matched the wrong payload")
	}
}

func TestParseDropRuleRejects(t *testing.T) {
	for _, s := range []string{"", "a2b", "a2b:syn", "x2y:syn:1", "a2b:ack:1", "a2b:syn:0", "a2b:syn:-1", "a2b:syn:one"} {
		if _, err := parseDropRule(s); err == nil {
			t.Errorf("parseDropRule(%q): want an error", s)
		}
	}
}

func TestParseTags(t *testing.T) {
	got, err := parseTags("ad200,100")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x00, 100}
	if !bytes.Equal(got, want) {
		t.Errorf("parseTags(ad200,100) = % x, want % x", got, want)
	}
	for _, bad := range []string{"4095", "-1", "ad", "x"} {
		if _, err := parseTags(bad); err == nil {
			t.Errorf("parseTags(%q): want an error", bad)
		}
	}
}
