package capture_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// Outer (tunnel endpoint) addresses of the tunnelled test frames.
var (
	tun4a, tun4b = netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	tun6a, tun6b = netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2")
)

// vxlanPacket returns a UDP datagram to port 4789 between the tunnel
// endpoints (IPv4 or IPv6) carrying frame in VXLAN.
func vxlanPacket(v6 bool, frame []byte) []byte {
	return vxlanPacketTo(ct.PortVXLAN, v6, ct.VXLAN(42, frame))
}

// vxlanPacketTo returns a UDP datagram to port between the tunnel
// endpoints (IPv4 or IPv6) carrying payload, a VXLAN header and frame.
func vxlanPacketTo(port uint16, v6 bool, payload []byte) []byte {
	a, b := tun4a, tun4b
	if v6 {
		a, b = tun6a, tun6b
	}
	return ct.UDPPacket(netip.AddrPortFrom(a, 51234), netip.AddrPortFrom(b, port), 0x77, payload)
}

// gpePacket returns a UDP datagram to port 4790 between the tunnel
// endpoints (IPv4 or IPv6) carrying payload in VXLAN-GPE with the next
// protocol given.
func gpePacket(v6 bool, next byte, payload []byte) []byte {
	return vxlanPacketTo(ct.PortVXLANGPE, v6, ct.VXLANGPE(next, 42, payload))
}

// gpeFlags returns a VXLAN-GPE header with the flags byte given.
func gpeFlags(flags, next byte, payload []byte) []byte {
	b := ct.VXLANGPE(next, 42, payload)
	b[0] = flags
	return b
}

// vxlanGBP returns a VXLAN header with the Group Based Policy extension
// that Linux sends with "gbp" (the G flag, group 0x1234) and frame.
func vxlanGBP(frame []byte) []byte {
	b := ct.VXLAN(42, frame)
	b[0] |= 0x80
	b[2], b[3] = 0x12, 0x34
	return b
}

// genevePacket returns a UDP datagram to port 6081 carrying payload in
// GENEVE with the protocol type and options given.
func genevePacket(protocol uint16, options, payload []byte) []byte {
	return ct.UDP(netip.AddrPortFrom(tun4a, 51234), netip.AddrPortFrom(tun4b, ct.PortGENEVE), ct.GENEVE(protocol, 7, options, payload))
}

// grePacket returns an IPv4 packet between the tunnel endpoints carrying
// payload in GRE.
func grePacket(o ct.GREOptions, protocol uint16, payload []byte) []byte {
	return ct.IPv4(tun4a, tun4b, ct.ProtoGRE, 0x55, ct.GRE(o, protocol, payload))
}

// erspanII returns an ERSPAN type II header (version 1, VLAN 0, session
// 1, index 0).
func erspanII() []byte { return []byte{0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0} }

// erspanIII returns an ERSPAN type III header (version 2, session 1, a
// timestamp), with the O flag and an 8-byte platform subheader when sub.
func erspanIII(sub bool) []byte {
	b := []byte{0x20, 0x00, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0}
	if sub {
		b[11] |= 1
		b = append(b, 0x08, 0, 0, 0, 0, 0, 0, 1)
	}
	return b
}

// tunnelledFrames are frames carrying the test segment through every
// tunnel the Decoder follows, each with the bare frame it must decode as.
func tunnelledFrames() []encapsulated {
	ip4, ip6 := seg4().IP(), seg6().IP()
	vlan := func(id uint16) ct.VLANTag { return ct.VLANTag{TPID: ct.EtherVLAN, ID: id} }
	ipip := ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 0x66, ip4)
	routed := ct.GRE(ct.GREOptions{}, ct.EtherIPv4, append([]byte{0, 0, 0, 0, 0, 2, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0}, ip4...))
	routed[0] |= 0x40                              // R: offset (with the checksum field), an SRE of 4 bytes, the null SRE
	deep := ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, // 1: IP in IP
		grePacket(ct.GREOptions{}, ct.EtherIPv4, // 2: GRE
			vxlanPacket(false, ct.Ethernet( // 3: VXLAN
				ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 2, ip6))))) // 4: 6in4
	return []encapsulated{
		{"IPv4 in IPv4", 1, ct.Ethernet(ipip), ct.Ethernet(ip4)},
		{"IPv4 in IPv4, raw IP link", capture.LinkTypeRaw, ipip, ct.Ethernet(ip4)},
		{"IPv6 in IPv4 (6in4)", 1, ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 1, ip6)), ct.Ethernet(ip6)},
		{"IPv6 in IPv6", 1, ct.Ethernet(ct.IPv6(tun6a, tun6b, ct.ProtoIPv6, ip6)), ct.Ethernet(ip6)},
		{"IPv4 in IPv6", 1, ct.Ethernet(ct.IPv6(tun6a, tun6b, ct.ProtoIPIP, ip4)), ct.Ethernet(ip4)},
		{"IPv6 under protocol 4 (the version nibble decides)", 1, ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ip6)), ct.Ethernet(ip6)},
		{"IPv4 in IPv6 after a destination options header", 1, ct.Ethernet(ct.IPv6(tun6a, tun6b, 60, ct.IPv6Ext(ct.ProtoIPIP, ip4))), ct.Ethernet(ip4)},
		{"IP in IP on Linux cooked v2", capture.LinkTypeLinuxSLL2, ct.LinuxSLL2(ct.EtherIPv4, ipip), ct.Ethernet(ip4)},
		{"IP in IP after 802.1Q", 1, ct.Ethernet(ipip, vlan(5)), ct.Ethernet(ip4, vlan(5))},
		{"GRE IPv4", 1, ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherIPv4, ip4)), ct.Ethernet(ip4)},
		{"GRE IPv6, checksum, key and sequence", 1, ct.Ethernet(grePacket(ct.GREOptions{Checksum: true, Key: true, Sequence: true}, ct.EtherIPv6, ip6)), ct.Ethernet(ip6)},
		{"GRE key only", 1, ct.Ethernet(grePacket(ct.GREOptions{Key: true}, ct.EtherIPv4, ip4)), ct.Ethernet(ip4)},
		{"GRE over IPv6", 1, ct.Ethernet(ct.IPv6(tun6a, tun6b, ct.ProtoGRE, ct.GRE(ct.GREOptions{Sequence: true}, ct.EtherIPv4, ip4))), ct.Ethernet(ip4)},
		{"GRE Ethernet (TEB)", 1, ct.Ethernet(grePacket(ct.GREOptions{Key: true}, ct.EtherTEB, ct.Ethernet(ip4))), ct.Ethernet(ip4)},
		{"GRE Ethernet with a VLAN tag inside", 1, ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherTEB, ct.Ethernet(ip6, vlan(33)))), ct.Ethernet(ip6, vlan(33))},
		{"GRE with RFC 1701 routing", 1, ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoGRE, 1, routed)), ct.Ethernet(ip4)},
		{"GRE 0x0800 carrying IPv6 (the version nibble decides)", 1, ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherIPv4, ip6)), ct.Ethernet(ip6)},
		{"MPLS in GRE", 1, ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherMPLS, ct.MPLSLabels([]uint32{16, 17}, ip6))), ct.Ethernet(ip6)},
		{"ERSPAN type I", 1, ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherERSPAN, ct.Ethernet(ip4))), ct.Ethernet(ip4)},
		{"ERSPAN type II", 1, ct.Ethernet(grePacket(ct.GREOptions{Sequence: true}, ct.EtherERSPAN, append(erspanII(), ct.Ethernet(ip4, vlan(9))...))), ct.Ethernet(ip4, vlan(9))},
		{"ERSPAN type III", 1, ct.Ethernet(grePacket(ct.GREOptions{Sequence: true}, ct.EtherERSPAN3, append(erspanIII(false), ct.Ethernet(ip6)...))), ct.Ethernet(ip6)},
		{"ERSPAN type III with a platform subheader", 1, ct.Ethernet(grePacket(ct.GREOptions{Sequence: true}, ct.EtherERSPAN3, append(erspanIII(true), ct.Ethernet(ip4)...))), ct.Ethernet(ip4)},
		{"GRE in MPLS", 1, ct.EthernetMPLS(grePacket(ct.GREOptions{}, ct.EtherIPv4, ip4), 100), ct.Ethernet(ip4)},
		{"VXLAN", 1, ct.Ethernet(vxlanPacket(false, ct.Ethernet(ip4))), ct.Ethernet(ip4)},
		{"VXLAN over IPv6, IPv6 inside", 1, ct.Ethernet(vxlanPacket(true, ct.Ethernet(ip6))), ct.Ethernet(ip6)},
		{"VXLAN with tags outside and inside", 1, ct.Ethernet(vxlanPacket(false, ct.Ethernet(ip4, vlan(33))), vlan(100)), ct.Ethernet(ip4, vlan(100), vlan(33))},
		{"VXLAN on PPPoE", 1, ct.EthernetPPPoE(vxlanPacket(false, ct.Ethernet(ip4))), ct.Ethernet(ip4)},
		{"VXLAN to Linux's port 8472", 1, ct.Ethernet(vxlanPacketTo(ct.PortVXLANLinux, false, ct.VXLAN(1, ct.Ethernet(ip4)))), ct.Ethernet(ip4)},
		{"VXLAN to port 8472 over IPv6, tagged IPv6 inside", 1, ct.Ethernet(vxlanPacketTo(ct.PortVXLANLinux, true, ct.VXLAN(1, ct.Ethernet(ip6, vlan(33))))), ct.Ethernet(ip6, vlan(33))},
		{"VXLAN to port 8472 on Linux cooked v2 (tcpdump -i any)", capture.LinkTypeLinuxSLL2, ct.LinuxSLL2(ct.EtherIPv4, vxlanPacketTo(ct.PortVXLANLinux, false, ct.VXLAN(1, ct.Ethernet(ip4)))), ct.Ethernet(ip4)},
		{"VXLAN to port 8472 with Linux's group policy extension", 1, ct.Ethernet(vxlanPacketTo(ct.PortVXLANLinux, false, vxlanGBP(ct.Ethernet(ip4)))), ct.Ethernet(ip4)},
		{"VXLAN to port 4789 with Linux's group policy extension", 1, ct.Ethernet(vxlanPacketTo(ct.PortVXLAN, false, vxlanGBP(ct.Ethernet(ip6)))), ct.Ethernet(ip6)},
		{"VXLAN to port 8472 inside VXLAN to 4789", 1, ct.Ethernet(vxlanPacket(false, ct.Ethernet(vxlanPacketTo(ct.PortVXLANLinux, false, ct.VXLAN(1, ct.Ethernet(ip4)))))), ct.Ethernet(ip4)},
		{"VXLAN-GPE IPv4", 1, ct.Ethernet(gpePacket(false, ct.GPEIPv4, ip4)), ct.Ethernet(ip4)},
		{"VXLAN-GPE IPv6 over IPv6", 1, ct.Ethernet(gpePacket(true, ct.GPEIPv6, ip6)), ct.Ethernet(ip6)},
		{"VXLAN-GPE Ethernet with a VLAN tag inside", 1, ct.Ethernet(gpePacket(false, ct.GPEEthernet, ct.Ethernet(ip4, vlan(33)))), ct.Ethernet(ip4, vlan(33))},
		{"VXLAN-GPE MPLS", 1, ct.Ethernet(gpePacket(false, ct.GPEMPLS, ct.MPLSLabels([]uint32{16, 17}, ip6))), ct.Ethernet(ip6)},
		{"VXLAN-GPE IPv4 carrying IPv6 (the version nibble decides)", 1, ct.Ethernet(gpePacket(false, ct.GPEIPv4, ip6)), ct.Ethernet(ip6)},
		{"VXLAN-GPE with the B flag (broadcast, unknown unicast, multicast)", 1, ct.Ethernet(vxlanPacketTo(ct.PortVXLANGPE, false, gpeFlags(0x0e, ct.GPEIPv4, ip4))), ct.Ethernet(ip4)},
		{"GENEVE Ethernet", 1, ct.Ethernet(genevePacket(ct.EtherTEB, nil, ct.Ethernet(ip4))), ct.Ethernet(ip4)},
		{"GENEVE IPv4 with an option", 1, ct.Ethernet(genevePacket(ct.EtherIPv4, []byte{1, 2, 3, 1, 9, 9, 9, 9}, ip4)), ct.Ethernet(ip4)},
		{"GENEVE IPv6", 1, ct.Ethernet(genevePacket(ct.EtherIPv6, nil, ip6)), ct.Ethernet(ip6)},
		{"four tunnels deep", 1, ct.Ethernet(deep), ct.Ethernet(ip6)},
		{"Ethernet padding after the tunnel packet", 1, append(ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherIPv4, ip4)), 0, 0, 0, 0), ct.Ethernet(ip4)},
	}
}

// nested wraps ip in n levels of IP in IP.
func nested(ip []byte, n int) []byte {
	for i := range n {
		ip = ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, uint16(i), ip)
	}
	return ip
}

// TestDecodeTunnelDepth: at most four tunnels are followed in one frame; a
// fifth is counted as it is when not followed, whatever it carries.
func TestDecodeTunnelDepth(t *testing.T) {
	ip4 := seg4().IP()
	vx := ct.Ethernet(ip4)
	for range 5 {
		vx = ct.Ethernet(vxlanPacket(false, vx))
	}
	gpe := ip4
	for range 5 {
		gpe = gpePacket(false, ct.GPEIPv4, gpe)
	}
	for _, tc := range []struct {
		desc  string
		frame []byte
		want  capture.SkipReason
	}{
		{"four IP in IP", ct.Ethernet(nested(ip4, 4)), capture.SkipNone},
		{"five IP in IP", ct.Ethernet(nested(ip4, 5)), capture.SkipOtherIPProto},
		{"five hundred IP in IP", ct.Ethernet(nested(ip4, 500)), capture.SkipOtherIPProto},
		{"five VXLAN", vx, capture.SkipUDP},
		{"five VXLAN-GPE", ct.Ethernet(gpe), capture.SkipUDP},
		{"four VXLAN-GPE", ct.Ethernet(gpePacket(false, ct.GPEIPv4, gpePacket(false, ct.GPEIPv4, gpePacket(false, ct.GPEIPv4, gpePacket(false, ct.GPEIPv4, ip4))))), capture.SkipNone},
		{"four IP in IP, then GRE", ct.Ethernet(nested(grePacket(ct.GREOptions{}, ct.EtherIPv4, ip4), 4)), capture.SkipOtherIPProto},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if r, _, _ := decodeOne(1, tc.frame, 0); r != tc.want {
				t.Fatalf("got %v, want %v", r, tc.want)
			}
		})
	}
}

// TestDecodeTunnelSkips: what is not followed is counted under its reason,
// and so is what a tunnel carries when it is not TCP. Where tshark 4.0
// follows a look-alike that connscope does not, the case says so.
func TestDecodeTunnelSkips(t *testing.T) {
	ip4, ip6 := seg4().IP(), seg6().IP()
	udpTo := func(src, dst uint16, payload []byte) []byte {
		return ct.UDP(netip.AddrPortFrom(tun4a, src), netip.AddrPortFrom(tun4b, dst), payload)
	}
	noI := ct.VXLAN(42, ct.Ethernet(ip4))
	noI[0] = 0
	udpTooLong := vxlanPacket(false, ct.Ethernet(ip4))
	binary.BigEndian.PutUint16(udpTooLong[20+4:], uint16(len(udpTooLong)-20+1))
	gpeTooLong := gpePacket(false, ct.GPEIPv4, ip4)
	binary.BigEndian.PutUint16(gpeTooLong[20+4:], uint16(len(gpeTooLong)-20+1))
	udp8472TooLong := vxlanPacketTo(ct.PortVXLANLinux, false, ct.VXLAN(42, ct.Ethernet(ip4)))
	binary.BigEndian.PutUint16(udp8472TooLong[20+4:], uint16(len(udp8472TooLong)-20+1))
	erspanV3 := erspanII()
	erspanV3[0] = 0x30
	geneveV1 := ct.GENEVE(ct.EtherIPv4, 7, nil, ip4)
	geneveV1[0] |= 0x40
	ipipEmpty := ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, nil)
	greCut := grePacket(ct.GREOptions{Key: true}, ct.EtherIPv4, ip4)[:20+6]
	binary.BigEndian.PutUint16(greCut[2:], uint16(len(greCut)))
	for _, tc := range []struct {
		desc  string
		frame []byte
		want  capture.SkipReason
	}{
		{"GRE version 1 (tshark follows 0x0800 in it)", ct.Ethernet(grePacket(ct.GREOptions{Key: true, Version: 1}, ct.EtherIPv4, ip4)), capture.SkipOtherIPProto},
		{"GRE PPP (PPTP)", ct.Ethernet(grePacket(ct.GREOptions{Key: true, Version: 1}, 0x880b, append([]byte{0xff, 0x03, 0, 0x21}, ip4...))), capture.SkipOtherIPProto},
		{"ERSPAN version 3", ct.Ethernet(grePacket(ct.GREOptions{Sequence: true}, ct.EtherERSPAN, append(erspanV3, ct.Ethernet(ip4)...))), capture.SkipOtherIPProto},
		{"GRE carrying an Ethernet pseudowire in MPLS", ct.Ethernet(grePacket(ct.GREOptions{}, ct.EtherMPLS, ct.MPLSLabels([]uint32{5}, append([]byte{0, 0, 0, 0}, ct.Ethernet(ip4)...)))), capture.SkipNonIP},
		{"GRE header cut by its IP length", ct.Ethernet(greCut), capture.SkipMalformed},
		{"IPv4 under protocol 41", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 1, ip4)), capture.SkipMalformed},
		{"IP in IP with nothing inside", ct.Ethernet(ipipEmpty), capture.SkipMalformed},
		{"IP in IP, version 5 inside", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, append([]byte{0x55}, ip4[1:]...))), capture.SkipMalformed},
		{"IP in IP carrying UDP", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ct.UDP(cli4, srv4, []byte("q")))), capture.SkipUDP},
		{"IP in IP carrying ICMP", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ct.IPv4(cli4.Addr(), srv4.Addr(), ct.ProtoICMP, 1, []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0}))), capture.SkipICMP},
		{"MPLS in IP in IP", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ct.IPv4(cli4.Addr(), srv4.Addr(), 137, 1, ct.MPLSLabels([]uint32{5}, ip4)))), capture.SkipOtherIPProto},
		{"VXLAN without the I flag (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLAN, noI)), capture.SkipUDP},
		{"VXLAN from port 4789 (tshark follows it)", ct.Ethernet(udpTo(ct.PortVXLAN, 51234, ct.VXLAN(42, ct.Ethernet(ip4)))), capture.SkipUDP},
		{"VXLAN to port 8472 without the I flag (tshark told 8472 is VXLAN follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANLinux, noI)), capture.SkipUDP},
		{"VXLAN from port 8472 to an ordinary port (tshark told 8472 is VXLAN follows it)", ct.Ethernet(udpTo(ct.PortVXLANLinux, 51234, ct.VXLAN(42, ct.Ethernet(ip4)))), capture.SkipUDP},
		{"UDP from 8472 to 4789 is VXLAN", ct.Ethernet(udpTo(ct.PortVXLANLinux, ct.PortVXLAN, ct.VXLAN(42, ct.Ethernet(ip4)))), capture.SkipNone},
		{"VXLAN to port 8472 carrying ARP", ct.Ethernet(udpTo(51234, ct.PortVXLANLinux, ct.VXLAN(42, ct.EthernetType(ct.EtherARP, make([]byte, 28))))), capture.SkipARP},
		{"VXLAN to port 8472 with a UDP length past the IP packet", ct.Ethernet(udp8472TooLong), capture.SkipMalformed},
		{"VXLAN to port 8472, header cut by the UDP length", ct.Ethernet(udpTo(51234, ct.PortVXLANLinux, []byte{8, 0, 0, 0})), capture.SkipMalformed},
		{"VXLAN to port 8472, inner Ethernet header cut by the UDP length", ct.Ethernet(udpTo(51234, ct.PortVXLANLinux, ct.VXLAN(42, ct.Ethernet(ip4))[:8+10])), capture.SkipMalformed},
		{"UDP to port 8472 carrying no VXLAN header at all", ct.Ethernet(udpTo(51234, ct.PortVXLANLinux, nil)), capture.SkipMalformed},
		{"VXLAN carrying ARP", ct.Ethernet(vxlanPacket(false, ct.EthernetType(ct.EtherARP, make([]byte, 28)))), capture.SkipARP},
		{"VXLAN carrying LLC", ct.Ethernet(vxlanPacket(false, ct.IEEE8023([]byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0}))), capture.SkipNonIP},
		{"VXLAN carrying IPv6 UDP", ct.Ethernet(vxlanPacket(false, ct.Ethernet(ct.UDP(cli6, srv6, []byte("q"))))), capture.SkipUDP},
		{"VXLAN with a UDP length past the IP packet", ct.Ethernet(udpTooLong), capture.SkipMalformed},
		{"VXLAN header cut by the UDP length", ct.Ethernet(udpTo(51234, ct.PortVXLAN, []byte{8, 0, 0, 0})), capture.SkipMalformed},
		{"VXLAN-GPE without the I flag (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x04, ct.GPEIPv4, ip4))), capture.SkipUDP},
		{"VXLAN-GPE without the P flag (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x08, ct.GPEIPv4, ip4))), capture.SkipUDP},
		{"VXLAN-GPE version 1 (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x1c, ct.GPEIPv4, ip4))), capture.SkipUDP},
		{"VXLAN-GPE OAM (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, gpeFlags(0x0d, ct.GPEIPv4, ip4))), capture.SkipUDP},
		{"VXLAN-GPE from port 4790 (tshark follows it)", ct.Ethernet(udpTo(ct.PortVXLANGPE, 51234, ct.VXLANGPE(ct.GPEIPv4, 42, ip4))), capture.SkipUDP},
		{"VXLAN-GPE NSH (tshark follows it)", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, ct.VXLANGPE(ct.GPENSH, 42, nshIPv4(ip4)))), capture.SkipUDP},
		{"VXLAN-GPE unknown next protocol", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, ct.VXLANGPE(0x99, 42, ip4))), capture.SkipUDP},
		{"VXLAN-GPE Ethernet carrying ARP", ct.Ethernet(gpePacket(false, ct.GPEEthernet, ct.EthernetType(ct.EtherARP, make([]byte, 28)))), capture.SkipARP},
		{"VXLAN-GPE IPv4 carrying UDP", ct.Ethernet(gpePacket(false, ct.GPEIPv4, ct.UDP(cli4, srv4, []byte("q")))), capture.SkipUDP},
		{"VXLAN-GPE IPv4, version 5 inside", ct.Ethernet(gpePacket(false, ct.GPEIPv4, append([]byte{0x55}, ip4[1:]...))), capture.SkipMalformed},
		{"VXLAN-GPE IPv4 with nothing inside", ct.Ethernet(gpePacket(false, ct.GPEIPv4, nil)), capture.SkipMalformed},
		{"VXLAN-GPE with a UDP length past the IP packet", ct.Ethernet(gpeTooLong), capture.SkipMalformed},
		{"VXLAN-GPE header cut by the UDP length", ct.Ethernet(udpTo(51234, ct.PortVXLANGPE, []byte{0x0c, 0, 0, 1})), capture.SkipMalformed},
		{"GENEVE version 1", ct.Ethernet(udpTo(51234, ct.PortGENEVE, geneveV1)), capture.SkipUDP},
		{"GENEVE carrying ARP's EtherType", ct.Ethernet(genevePacket(ct.EtherARP, nil, make([]byte, 28))), capture.SkipUDP},
		{"UDP on another port", ct.Ethernet(udpTo(51234, 53, ct.VXLAN(42, ct.Ethernet(ip4)))), capture.SkipUDP},
		{"UDP header of 3 bytes, captured whole", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoUDP, 1, []byte{0x12, 0x34, 0x56})), capture.SkipUDP},
		{"IP in IP in a fragment held", ct.Ethernet(func() []byte {
			b := ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, ip4)
			b[6] = 0x20 // more fragments
			return b
		}()), capture.SkipIPFragment},
		{"IPv6 fragment inside IP in IP", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, newFragmenter(true, 9).piece(0, 64))), capture.SkipIPFragment},
		{"6in4 to IPv6 ICMP", ct.Ethernet(ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 1, ct.IPv6(cli6.Addr(), srv6.Addr(), ct.ProtoICMPv6, []byte{128, 0, 0, 0}))), capture.SkipICMP},
		{"IPv6 in IPv6, ip6 packet inside", ct.Ethernet(ct.IPv6(tun6a, tun6b, ct.ProtoIPv6, ip6)), capture.SkipNone},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r, _, d := decodeOne(1, tc.frame, 0)
			if r != tc.want {
				t.Fatalf("got %v, want %v", r, tc.want)
			}
			if st := d.Stats(); tc.want != capture.SkipNone && st.Skipped[tc.want] != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// fragmentIPv4 splits an IPv4 packet (20-byte header) into two fragments,
// the first carrying at bytes of its payload (a multiple of 8).
func fragmentIPv4(pkt []byte, at int) [2][]byte {
	first := append(bytes.Clone(pkt[:20]), pkt[20:20+at]...)
	binary.BigEndian.PutUint16(first[2:], uint16(len(first)))
	binary.BigEndian.PutUint16(first[6:], 0x2000)
	second := append(bytes.Clone(pkt[:20]), pkt[20+at:]...)
	binary.BigEndian.PutUint16(second[2:], uint16(len(second)))
	binary.BigEndian.PutUint16(second[6:], uint16(at/8))
	for _, f := range [][]byte{first, second} { // the header checksum
		f[10], f[11] = 0, 0
		var s uint32
		for i := 0; i < 20; i += 2 {
			s += uint32(binary.BigEndian.Uint16(f[i:]))
		}
		for s > 0xffff {
			s = s&0xffff + s>>16
		}
		binary.BigEndian.PutUint16(f[10:], ^uint16(s))
	}
	return [2][]byte{first, second}
}

// TestTunnelFragments: a tunnel packet cut into fragments is reassembled
// and then followed; fragments of the inner packet are reassembled by
// their own addresses; and both at once.
func TestTunnelFragments(t *testing.T) {
	whole := fragSegment(false).IP()
	wholeSeg := func(t *testing.T, r *fragRun, frame uint64) {
		t.Helper()
		wantWhole(t, r, false, frame)
	}
	t.Run("outer", func(t *testing.T) {
		outer := fragmentIPv4(grePacket(ct.GREOptions{Key: true}, ct.EtherIPv4, whole), 64)
		r := feedAll(t, outer[0], outer[1])
		wholeSeg(t, r, 2)
	})
	t.Run("outer, out of order, 6in4", func(t *testing.T) {
		outer := fragmentIPv4(ct.IPv4(tun4a, tun4b, ct.ProtoIPv6, 3, fragSegment(true).IP()), 80)
		r := feedAll(t, outer[1], outer[0])
		wantWhole(t, r, true, 2)
	})
	t.Run("inner", func(t *testing.T) {
		inner := newFragmenter(false, 0x1234)
		r := feedAll(t,
			ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, inner.piece(0, 64)),
			ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 2, inner.piece(64, len(inner.bytes))))
		wholeSeg(t, r, 2)
	})
	t.Run("inner IPv6 in VXLAN", func(t *testing.T) {
		inner := newFragmenter(true, 77)
		r := feedAll(t,
			vxlanPacket(false, ct.Ethernet(inner.piece(0, 64))),
			vxlanPacket(false, ct.Ethernet(inner.piece(64, len(inner.bytes)))))
		wantWhole(t, r, true, 2)
	})
	t.Run("both", func(t *testing.T) {
		inner := newFragmenter(false, 0x1234)
		a := fragmentIPv4(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 1, inner.piece(0, 64)), 48)
		b := fragmentIPv4(ct.IPv4(tun4a, tun4b, ct.ProtoIPIP, 2, inner.piece(64, len(inner.bytes))), 40)
		r := feedAll(t, a[0], a[1], b[0], b[1])
		if len(r.segments) != 1 || r.segments[0].Frame != 4 {
			t.Fatalf("segments %+v, reasons %v", r.segments, r.reasons)
		}
		if got := r.segments[0]; !bytes.Equal(got.Payload, fragSegment(false).Payload) {
			t.Fatalf("payload %q", got.Payload)
		}
		if st := r.d.Stats(); st.Fragments.Datagrams != 3 || st.Fragments.Fragments != 6 {
			t.Fatalf("fragment stats %+v, want 3 datagrams of 6 fragments", st.Fragments)
		}
	})
}

// nshIPv4 returns a Network Service Header (RFC 8300: version 0, MD type 2
// without metadata, service path 1 index 255) announcing IPv4, then ip.
func nshIPv4(ip []byte) []byte {
	return append([]byte{0x00, 0x02, 0x02, 0x01, 0, 0, 1, 255}, ip...)
}
