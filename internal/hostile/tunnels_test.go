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
	// segments and the inner fragments' second halves) skipped under the
	// reason of its innermost tunnel, of kind (c+k+4)%6 at segment k of
	// connection c: udp for the first four kinds (VXLAN, VXLAN to 8472,
	// VXLAN-GPE, GENEVE), other_ip_proto for the last two (GRE, IP in IP).
	// The 156 segments meet each kind 26 times: 4*26 under udp, 2*26
	// under other_ip_proto. The 26 second halves (k%6 == 4) all meet kind
	// (c+2)%6, for c = 4+5j (j = 0..19) that is (-j) mod 6: kinds 0 and 5
	// four times each, the others three, so 4+3+3+3 = 13 connections add
	// their 26 to udp and 3+4 = 7 to other_ip_proto.
	udp, other := 20*4*26+13*26, 20*2*26+7*26
	if tally.Frames != want.Frames || tally.TCP != want.TCP || tally.Conns != want.Conns || tally.Txns != want.Txns ||
		tally.InnerFragmented != want.InnerFragmented || tally.OuterFragmented != want.OuterFragmented {
		t.Errorf("tally %+v, want %+v", *tally, want)
	}
	if udp+other != 20*(segs+26) || len(tally.Beyond) != 2 || tally.Beyond["udp"] != udp || tally.Beyond["other_ip_proto"] != other {
		t.Errorf("beyond the bound: %v, want %d under udp and %d under other_ip_proto", tally.Beyond, udp, other)
	}
	if len(tally.BeyondClients) != 20 {
		t.Errorf("%d clients beyond the bound, want 20", len(tally.BeyondClients))
	}
}

// TestNestedTunnelsCoverage checks that the rotation puts every tunnel kind
// at every level of every depth (1 to 5), on segments sent whole, with
// the innermost packet fragmented, the outermost, and both: at the small
// size of TestAdversarialCaptures and at the smaller one
// TestNestedTunnelsAgainstTshark compares with tshark. VXLAN-GPE must
// carry each of its payloads (an Ethernet frame, IPv4, IPv6, MPLS, and
// IPv6 announced as IPv4) within the bound at both sizes, and at every
// depth at the larger.
func TestNestedTunnelsCoverage(t *testing.T) {
	gpePayloads := []string{"ethernet", "ipv4", "ipv6", "mpls", "ipv6 as ipv4"}
	for _, n := range []int{200, 5000} {
		tally, err := nestedTunnels(io.Discard, n)
		if err != nil {
			t.Fatal(err)
		}
		type at struct {
			depth, level int
			kind         tunnelKind
			frag         fragMode
		}
		seen := map[at]int{}
		gpe := map[string]int{}      // payload → datagrams within the bound
		gpeDepth := map[[2]any]int{} // (depth, payload) → datagrams
		for u, x := range tally.Uses {
			seen[at{u.depth, u.level, u.kind, u.frag}] += x
			if u.kind == tunVXLANGPE {
				gpeDepth[[2]any{u.depth, u.carries}] += x
				if u.depth <= tunnelsFollowed {
					gpe[u.carries] += x
				}
			}
		}
		for depth := 1; depth <= tunnelsFollowed+1; depth++ {
			for level := range depth {
				for kind := range tunnelKinds {
					for frag := fragNone; frag <= fragBoth; frag++ {
						if seen[at{depth, level, kind, frag}] == 0 {
							t.Errorf("n=%d: no %v at level %d of %d with fragmenting %d", n, kind, level, depth, frag)
						}
					}
				}
			}
			for _, p := range gpePayloads {
				if n == 5000 && gpeDepth[[2]any{depth, p}] == 0 {
					t.Errorf("n=%d: VXLAN-GPE never carries %s %d tunnels deep", n, p, depth)
				}
			}
		}
		for _, p := range gpePayloads {
			if gpe[p] == 0 {
				t.Errorf("n=%d: VXLAN-GPE never carries %s within the bound", n, p)
			}
		}
	}
}
