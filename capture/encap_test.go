package capture_test

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// encapsulated is a frame in one of the encapsulations between the link
// layer and IP, and the plain frame it must decode as.
type encapsulated struct {
	desc  string
	lt    capture.LinkType
	frame []byte
	plain []byte // Ethernet II frame with the same IP packet and tags
}

func encapsulatedFrames() []encapsulated {
	ip4, ip6 := seg4().IP(), seg6().IP()
	vlan := func(id uint16) ct.VLANTag { return ct.VLANTag{TPID: ct.EtherVLAN, ID: id} }
	llcIFrame := append([]byte{0xaa, 0xaa, 0x00, 0x00, 0, 0, 0, 0x08, 0x00}, ip4...) // information frame: 2-byte control
	bridgeTunnel := ct.LLCSNAP(ct.EtherIPv4, ip4)
	bridgeTunnel[5] = 0xf8 // organisation 00-00-F8 (IEEE 802.1H)
	padded := append(ct.EthernetPPPoE(ip4), make([]byte, 8)...)
	return []encapsulated{
		{"802.3 LLC/SNAP ipv4", 1, ct.EthernetLLCSNAP(ip4), ct.Ethernet(ip4)},
		{"802.3 LLC/SNAP ipv6", 1, ct.EthernetLLCSNAP(ip6), ct.Ethernet(ip6)},
		{"802.1Q then 802.3 LLC/SNAP", 1, ct.EthernetLLCSNAP(ip4, vlan(12)), ct.Ethernet(ip4, vlan(12))},
		{"SNAP 802.1H bridge tunnel", 1, ct.IEEE8023(bridgeTunnel), ct.Ethernet(ip4)},
		{"LLC information frame", 1, ct.IEEE8023(llcIFrame), ct.Ethernet(ip4)},
		{"802.3 padding past the length", 1, append(ct.EthernetLLCSNAP(ip4), 0, 0, 0, 0), ct.Ethernet(ip4)},
		{"MPLS one label ipv4", 1, ct.EthernetMPLS(ip4, 100), ct.Ethernet(ip4)},
		{"MPLS three labels ipv6", 1, ct.EthernetMPLS(ip6, 16001, 24005, 3), ct.Ethernet(ip6)},
		{"MPLS explicit null", 1, ct.EthernetMPLS(ip4, 0), ct.Ethernet(ip4)},
		{"MPLS multicast", 1, ct.EthernetType(ct.EtherMPLSMulticast, ct.MPLSLabels([]uint32{7, 8}, ip4)), ct.Ethernet(ip4)},
		{"802.1Q then MPLS", 1, ct.EthernetType(ct.EtherMPLS, ct.MPLSLabels([]uint32{5}, ip6), vlan(9)), ct.Ethernet(ip6, vlan(9))},
		{"SNAP then MPLS", 1, ct.IEEE8023(ct.LLCSNAP(ct.EtherMPLS, ct.MPLSLabels([]uint32{5}, ip4))), ct.Ethernet(ip4)},
		{"PPPoE ipv4", 1, ct.EthernetPPPoE(ip4), ct.Ethernet(ip4)},
		{"PPPoE ipv6", 1, ct.EthernetPPPoE(ip6), ct.Ethernet(ip6)},
		{"802.1Q then PPPoE", 1, ct.EthernetPPPoE(ip4, vlan(7)), ct.Ethernet(ip4, vlan(7))},
		{"QinQ then PPPoE", 1, ct.EthernetPPPoE(ip6, ct.VLANTag{TPID: ct.EtherQinQ, ID: 100}, vlan(200)), ct.Ethernet(ip6, ct.VLANTag{TPID: ct.EtherQinQ, ID: 100}, vlan(200))},
		{"PPPoE padding past the length", 1, padded, ct.Ethernet(ip4)},
		{"PPP protocol compressed", 1, ct.EthernetType(ct.EtherPPPoESession, compressPPP(ct.PPPoESession(ct.PPPIPv4, ip4))), ct.Ethernet(ip4)},
		{"PPPoE then MPLS", 1, ct.EthernetType(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPMPLS, ct.MPLSLabels([]uint32{42}, ip4))), ct.Ethernet(ip4)},
		{"Linux cooked v1 MPLS", capture.LinkTypeLinuxSLL, ct.LinuxSLL(ct.EtherMPLS, ct.MPLSLabels([]uint32{1, 2}, ip4)), ct.Ethernet(ip4)},
		{"Linux cooked v2 PPPoE", capture.LinkTypeLinuxSLL2, ct.LinuxSLL2(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPIPv6, ip6)), ct.Ethernet(ip6)},
		{"Linux cooked v1 802.2 LLC/SNAP", capture.LinkTypeLinuxSLL, ct.LinuxSLL(0x0004, ct.LLCSNAP(ct.EtherIPv4, ip4)), ct.Ethernet(ip4)},
	}
}

// compressPPP rewrites a PPPoE session packet's 2-byte PPP protocol field
// (0x00NN) to the 1-byte compressed form (RFC 1661 section 6.5).
func compressPPP(b []byte) []byte {
	out := append([]byte(nil), b[:6]...)
	binary.BigEndian.PutUint16(out[4:], binary.BigEndian.Uint16(b[4:])-1)
	return append(append(out, b[7]), b[8:]...)
}

// everyEncapsulation is every encapsulated and tunnelled frame
// (tunnel_test.go) with its plain Ethernet twin.
func everyEncapsulation() []encapsulated {
	return append(encapsulatedFrames(), tunnelledFrames()...)
}

// TestDecodeEncapsulations decodes every encapsulation and tunnel into
// exactly the segment the plain Ethernet frame gives: the (inner)
// addresses, ports, IP ID, VLANs outermost first, lengths, options and
// payload.
func TestDecodeEncapsulations(t *testing.T) {
	for _, tc := range everyEncapsulation() {
		t.Run(tc.desc, func(t *testing.T) {
			wantR, want, _ := decodeOne(capture.LinkTypeEthernet, tc.plain, 0)
			if wantR != capture.SkipNone {
				t.Fatalf("plain frame: %v", wantR)
			}
			r, got, d := decodeOne(tc.lt, tc.frame, 0)
			if r != capture.SkipNone {
				t.Fatalf("got %v, want a segment", r)
			}
			if !bytes.Equal(got.Payload, want.Payload) {
				t.Fatalf("payload %q, want %q", got.Payload, want.Payload)
			}
			got.Payload, want.Payload = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("segment\n %+v\nwant\n %+v", got, want)
			}
			if st := d.Stats(); st.TCPSegments != 1 || st.ByLinkType[tc.lt] != 1 || st.SkippedTotal() != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestDecodeEncapsulationsCut cuts each encapsulated or tunnelled frame
// at every byte before the TCP payload: cut by the snap length it is
// truncated, and a frame that short on the wire is never a segment.
// Nothing panics. Cut inside the payload, it is a segment whose payload
// the snap length shortened.
func TestDecodeEncapsulationsCut(t *testing.T) {
	payload := len(seg4().Payload)
	for _, tc := range everyEncapsulation() {
		t.Run(tc.desc, func(t *testing.T) {
			end := len(tc.frame) - payload
			if strings.Contains(tc.desc, "padding") {
				return // the payload is not at the end
			}
			for n := 0; n < end; n++ {
				if r, _, _ := decodeOne(tc.lt, tc.frame[:n], len(tc.frame)); r != capture.SkipTruncated {
					t.Errorf("cut to %d of %d bytes by the snap length: %v, want truncated", n, len(tc.frame), r)
				}
				if r, _, _ := decodeOne(tc.lt, tc.frame[:n], n); r == capture.SkipNone {
					t.Errorf("a %d-byte frame captured whole gave a segment", n)
				}
			}
			r, s, _ := decodeOne(tc.lt, tc.frame[:end+3], len(tc.frame))
			if r != capture.SkipNone || len(s.Payload) != 3 || s.PayloadLength != payload {
				t.Errorf("cut 3 bytes into the payload: %v, %d of %d bytes", r, len(s.Payload), s.PayloadLength)
			}
		})
	}
}

// TestDecodeEncapsulationSkips: what tshark does not read as IP is not
// decoded either, each counted under its reason; tunnels are not followed.
func TestDecodeEncapsulationSkips(t *testing.T) {
	ip4, ip6 := seg4().IP(), seg6().IP()
	llc := func(dsap, ssap, control byte, oui ...byte) []byte {
		b := append([]byte{dsap, ssap, control}, oui...)
		return append(append(b, 0x08, 0x00), ip4...)
	}
	withLength := func(frame []byte, n uint16) []byte {
		binary.BigEndian.PutUint16(frame[12:], n)
		return frame
	}
	pseudowire := ct.EthernetMPLS(append([]byte{0, 0, 0, 0}, ct.Ethernet(ip4)...), 100) // control word, then Ethernet
	mplsInIP := ct.IPv4(cli4.Addr(), srv4.Addr(), 137, 1, ct.MPLSLabels([]uint32{5}, ip4))
	mplsInIPv6 := ct.IPv6(cli6.Addr(), srv6.Addr(), 137, ct.MPLSLabels([]uint32{5}, ip6))
	mplsCut := ct.EthernetMPLS(ip4, 1, 2)
	for _, tc := range []struct {
		desc    string
		lt      capture.LinkType
		frame   []byte
		origLen int
		want    capture.SkipReason
	}{
		{"SNAP with Cisco's organisation code", 1, ct.IEEE8023(llc(0xaa, 0xaa, 0x03, 0, 0, 0x0c)), 0, capture.SkipNonIP},
		{"SNAP with Apple's organisation code", 1, ct.IEEE8023(llc(0xaa, 0xaa, 0x03, 0x08, 0, 0x07)), 0, capture.SkipNonIP},
		{"LLC group DSAP 0xAB", 1, ct.IEEE8023(llc(0xab, 0xaa, 0x03, 0, 0, 0)), 0, capture.SkipNonIP},
		{"LLC response SSAP 0xAB", 1, ct.IEEE8023(llc(0xaa, 0xab, 0x03, 0, 0, 0)), 0, capture.SkipNonIP},
		{"LLC UI with poll bit", 1, ct.IEEE8023(llc(0xaa, 0xaa, 0x13, 0, 0, 0)), 0, capture.SkipNonIP},
		{"LLC spanning tree", 1, ct.IEEE8023([]byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0}), 0, capture.SkipNonIP},
		{"802.3 length 1510 (neither length nor type)", 1, withLength(ct.EthernetLLCSNAP(ip4), 1510), 0, capture.SkipNonIP},
		{"SNAP ARP", 1, ct.IEEE8023(ct.LLCSNAP(ct.EtherARP, make([]byte, 28))), 0, capture.SkipARP},
		{"802.3 length cuts the IP packet", 1, withLength(ct.EthernetLLCSNAP(ip4), 40), 0, capture.SkipMalformed},
		{"MPLS Ethernet pseudowire", 1, pseudowire, 0, capture.SkipNonIP},
		{"MPLS without bottom of stack", 1, ct.EthernetType(ct.EtherMPLS, []byte{0, 0x64, 0, 64, 0, 0x65, 0, 64}), 0, capture.SkipMalformed},
		{"MPLS stack cut by the snap length", 1, mplsCut[:20], len(mplsCut), capture.SkipTruncated},
		{"MPLS in IPv4 (a tunnel)", 101, mplsInIP, 0, capture.SkipOtherIPProto},
		{"MPLS in IPv6 (a tunnel)", 101, mplsInIPv6, 0, capture.SkipOtherIPProto},
		{"PPPoE discovery", 1, ct.EthernetType(ct.EtherPPPoEDiscovery, ct.PPPoESession(ct.PPPIPv4, ip4)), 0, capture.SkipNonIP},
		{"PPPoE discovery, cooked v1", capture.LinkTypeLinuxSLL, ct.LinuxSLL(ct.EtherPPPoEDiscovery, ct.PPPoESession(ct.PPPIPv4, ip4)), 0, capture.SkipNonIP},
		{"PPPoE discovery, cooked v2", capture.LinkTypeLinuxSLL2, ct.LinuxSLL2(ct.EtherPPPoEDiscovery, ct.PPPoESession(ct.PPPIPv4, ip4)), 0, capture.SkipNonIP},
		{"PPP link control", 1, ct.EthernetType(ct.EtherPPPoESession, ct.PPPoESession(ct.PPPLCP, []byte{9, 1, 0, 8, 0, 0, 0, 0})), 0, capture.SkipNonIP},
		{"PPP with address and control bytes", 1, ct.EthernetType(ct.EtherPPPoESession, ct.PPPoESession(0xff03, append([]byte{0, 0x21}, ip4...))), 0, capture.SkipNonIP},
		{"PPPoE length cuts the IP packet", 1, withPPPoELength(ct.EthernetPPPoE(ip4), 30), 0, capture.SkipMalformed},
		{"PPPoE header cut", 1, ct.EthernetPPPoE(ip4)[:17], 0, capture.SkipMalformed},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, _, d := decodeOne(tc.lt, tc.frame, tc.origLen)
			if r != tc.want {
				t.Fatalf("got %v, want %v", r, tc.want)
			}
			if st := d.Stats(); st.Skipped[tc.want] != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// withPPPoELength sets the PPPoE length field of an untagged Ethernet frame.
func withPPPoELength(frame []byte, n uint16) []byte {
	binary.BigEndian.PutUint16(frame[14+4:], n)
	return frame
}
