package hostile

import (
	"io"
	"testing"
)

// TestNestedTunnelsTally checks the writer's own count of nested-tunnels,
// which TestAdversarialCaptures holds connscope to, against the numbers
// worked out by hand at the small size: 5000 transactions over 100
// connections, 50 each. A connection is 156 segments (3 of handshake, 3
// per transaction, 3 of close), numbered k = 0..155: the innermost packet
// goes as two fragments when k%6 == 4 (26 segments), the outermost when
// k%6 == 1 (26) or k%12 == 10 (13, already cut inside: 26 outer datagrams).
// Connections 4, 9, ..., 99 (20 of them) are in 5 tunnels, the rest (80)
// in 1 to 4.
func TestNestedTunnelsTally(t *testing.T) {
	tally, err := nestedTunnels(io.Discard, 5000)
	if err != nil {
		t.Fatal(err)
	}
	const segs = 156
	want := nestedTally{
		Frames:          100 * (segs + 26 + 26 + 26), // + inner second fragments + outer second fragments
		TCP:             80 * segs,
		Conns:           80,
		Txns:            80 * 50,
		InnerFragmented: 100 * 26,
		OuterFragmented: 100 * (26 + 13),
	}
	// Each of the 20 connections beyond the bound has its datagrams (its
	// segments and the inner fragments' second halves) skipped: half
	// under udp, half under other_ip_proto, as the innermost of the four
	// kinds rotates with the segment.
	beyond := 20 * (segs + 26)
	if tally.Frames != want.Frames || tally.TCP != want.TCP || tally.Conns != want.Conns || tally.Txns != want.Txns ||
		tally.InnerFragmented != want.InnerFragmented || tally.OuterFragmented != want.OuterFragmented {
		t.Errorf("tally %+v, want %+v", *tally, want)
	}
	if got := tally.Beyond["udp"] + tally.Beyond["other_ip_proto"]; got != beyond || len(tally.Beyond) != 2 || tally.Beyond["udp"] != beyond/2 {
		t.Errorf("beyond the bound: %v, want %d under udp and as many under other_ip_proto", tally.Beyond, beyond/2)
	}
	if len(tally.BeyondClients) != 20 {
		t.Errorf("%d clients beyond the bound, want 20", len(tally.BeyondClients))
	}
}
