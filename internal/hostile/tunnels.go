package hostile

import (
	"encoding/binary"
	"io"
	"net/netip"

	"github.com/connscope/connscope/capture/capturetest"
)

// The nested-tunnels scenario: keep-alive HTTP in which every frame is
// wrapped in 1 to 5 tunnels of six kinds (VXLAN to port 4789, VXLAN to
// Linux's port 8472, VXLAN-GPE carrying IPv4, IPv6, Ethernet or MPLS,
// GENEVE, GRE with key and sequence, IP in IP and 6in4), the kinds
// rotating level by level and frame by frame, with the innermost packet,
// the outermost or both cut into IP fragments on some frames. capture
// follows at most four tunnels in a frame (maxTunnelDepth, see the
// capture package doc, section Tunnels): the connections wrapped five deep
// are never seen, and each of their frames is skipped as the fifth tunnel
// would be if it were not followed at all (udp for VXLAN, VXLAN-GPE and
// GENEVE, other_ip_proto for GRE and IP in IP).

// tunnelsFollowed is capture's maxTunnelDepth (unexported there): the most
// tunnels connscope follows in one frame. A connection of nested-tunnels
// is wrapped in 1 to tunnelsFollowed+1 of them, so the bound is reached.
const tunnelsFollowed = 4

// nestedConns is the number of keep-alive connections of nested-tunnels
// (fewer when there are fewer transactions): a multiple of 20, so every
// depth (connection index mod 5) meets both inner address families
// (index / 5 mod 4) equally often.
const nestedConns = 100

// tunnelKind is one tunnel around a frame of nested-tunnels.
type tunnelKind uint8

// The kinds, in the order they rotate in: the tunnel inside one of kind
// k is of kind k+1 (mod tunnelKinds).
const (
	tunVXLAN      tunnelKind = iota // UDP to 4789, an Ethernet frame inside
	tunVXLANLinux                   // UDP to 8472 (Linux's default VXLAN port, flannel's and Cilium's), exactly as 4789
	tunVXLANGPE                     // UDP to 4790, next protocol Ethernet, IPv4, IPv6 or MPLS, or IPv4 carrying IPv6 (the version nibble decides)
	tunGENEVE                       // UDP to 6081 with an option, an Ethernet frame or IP inside
	tunGRE                          // GRE with key and sequence (and a checksum on some frames), carrying IP, Ethernet, MPLS or ERSPAN type II
	tunIPinIP                       // protocol 4 around IPv4, 41 around IPv6 (6in4 in an IPv4 outer, IPv6 in IPv6 in an IPv6 one)
	tunnelKinds
)

var tunnelKindNames = [tunnelKinds]string{"VXLAN", "VXLAN to 8472", "VXLAN-GPE", "GENEVE", "GRE", "IP in IP"}

func (k tunnelKind) String() string { return tunnelKindNames[k] }

// skipReason is the reason capture gives a frame whose innermost tunnel is
// of this kind and lies beyond the bound.
func (k tunnelKind) skipReason() string {
	switch k {
	case tunVXLAN, tunVXLANLinux, tunVXLANGPE, tunGENEVE:
		return "udp"
	}
	return "other_ip_proto"
}

// fragMode says which packets of a segment went as two fragments.
type fragMode uint8

const (
	fragNone  fragMode = iota
	fragInner          // the innermost packet (the TCP segment's)
	fragOuter          // the outermost packet, around each inner one
	fragBoth
)

// tunnelUse is one tunnel around a datagram of nested-tunnels: the level
// (0 the outermost) of a connection wrapped depth deep, its kind, what it
// carries as its kind names it (an Ethernet frame, IPv4, IPv6, MPLS,
// ERSPAN; "ipv6 as ipv4" for VXLAN-GPE announcing IPv4 around IPv6), and
// how the segment was fragmented.
type tunnelUse struct {
	depth, level int
	kind         tunnelKind
	carries      string
	frag         fragMode
}

// nestedTally is what a nested-tunnels capture holds, counted as the
// writer writes it, in the terms connscope's summary uses: the tests
// compare it with what connscope finds.
type nestedTally struct {
	// Frames is every frame written.
	Frames int
	// TCP counts the TCP segments inside the bound: each one's innermost
	// packet whole, or its last fragment (the first is held for it).
	TCP int
	// Conns and Txns are the connections wrapped in at most
	// tunnelsFollowed tunnels and their transactions.
	Conns, Txns int
	// Beyond counts the datagrams of the connections wrapped one tunnel
	// too deep, by the reason capture skips them for. An outer datagram
	// cut in two counts once: its first fragment is held for the second,
	// in which the datagram is decoded (and skipped).
	Beyond map[string]int
	// BeyondClients are the client endpoints of those connections.
	BeyondClients map[netip.AddrPort]bool
	// InnerFragmented and OuterFragmented count the segments whose
	// innermost or outermost packet went as two fragments.
	InnerFragmented, OuterFragmented int
	// Uses counts the datagrams (the segments, and the inner fragments'
	// second halves) each tunnel was wrapped around, so the tests can
	// check that every kind meets every depth, level and fragmenting.
	Uses map[tunnelUse]int
}

// tunnelPlan wraps every frame of one connection.
type tunnelPlan struct {
	tally *nestedTally
	conn  int // connection index
	depth int // tunnels around each frame
	cli   netip.AddrPort
	// frames counts the segments written on this connection: it picks
	// the kinds, their variants and the fragmenting of the next one.
	frames int
	// outerID and fragID number the outer datagrams and the IPv6
	// fragments, so that no two held at once share an identification.
	outerID *uint16
	fragID  *uint32
}

func writeNestedTunnels(out io.Writer, n int) error {
	_, err := nestedTunnels(out, n)
	return err
}

// nestedTunnels writes the nested-tunnels capture of n transactions over
// min(n, nestedConns) keep-alive connections and returns its tally.
// Connection c is wrapped in 1 + c%5 tunnels; its endpoints are IPv6 when
// (c/5)%4 == 1, so its outermost tunnel around them is 6in4 (or IPv6 in
// IPv6) whenever that is IP in IP.
func nestedTunnels(out io.Writer, n int) (*nestedTally, error) {
	w := newCapWriter(out)
	conns := max(1, min(n, nestedConns))
	tally := &nestedTally{Beyond: map[string]int{}, BeyondClients: map[netip.AddrPort]bool{}, Uses: map[tunnelUse]int{}}
	var outerID uint16
	var fragID uint32
	c := 0
	keepAlive(w, n, conns, func(f *flow) {
		if (c/5)%4 == 1 {
			f.cli, f.srv = toIPv6(f.cli), serverV6
		}
		p := &tunnelPlan{tally: tally, conn: c, depth: 1 + c%5, cli: f.cli, outerID: &outerID, fragID: &fragID}
		if p.depth > tunnelsFollowed {
			tally.BeyondClients[f.cli] = true
		} else {
			tally.Conns++
		}
		f.tun = p
		c++
	})
	for i := range n {
		if (i%conns)%5 < tunnelsFollowed {
			tally.Txns++
		}
	}
	tally.Frames = w.frames
	return tally, w.close()
}

// serverV6 is the server of the IPv6 connections.
var serverV6 = netip.AddrPortFrom(netip.MustParseAddr("2001:db8:80::80"), 80)

// toIPv6 maps a client endpoint of clientAddr into 2001:db8:c0::/96,
// keeping its port, one to one.
func toIPv6(ap netip.AddrPort) netip.AddrPort {
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x00, 0xc0}
	v4 := ap.Addr().As4()
	copy(a[12:], v4[:])
	return netip.AddrPortFrom(netip.AddrFrom16(a), ap.Port())
}

// write writes segment t of the plan's connection: its IP packet (or two
// fragments of it), each wrapped in the plan's tunnels and then, whole or
// as two fragments, in an Ethernet frame.
func (p *tunnelPlan) write(w *capWriter, t capturetest.TCP) {
	w.ipID++
	t.IPID = w.ipID
	k := p.frames
	p.frames++
	up := t.Src == p.cli

	innerFrag := k%6 == 4
	outerFrag := k%6 == 1 || k%12 == 10 // frame 10 of 12: both
	inner := [][]byte{t.IP()}
	if innerFrag {
		inner = p.split(inner[0])
		if len(inner) == 2 {
			p.tally.InnerFragmented++
		}
	}
	mode := fragNone
	if len(inner) == 2 {
		mode = fragInner
	}
	if outerFrag {
		mode |= fragOuter // the outer packets are always long enough to cut
	}
	outerSplit := false
	for i, pkt := range inner {
		*p.outerID++
		outer := p.wrap(pkt, k, up, *p.outerID, mode)
		frames := [][]byte{outer}
		if outerFrag {
			frames = p.split(outer)
			outerSplit = outerSplit || len(frames) == 2
		}
		for _, f := range frames {
			w.frame(capturetest.Ethernet(f))
		}
		switch {
		case p.depth > tunnelsFollowed:
			p.tally.Beyond[p.kind(k, p.depth-1).skipReason()]++
		case i == len(inner)-1:
			p.tally.TCP++
		}
	}
	if outerSplit {
		p.tally.OuterFragmented++
	}
}

// kind is the tunnel at level l (0 is the outermost) of the plan's k-th
// segment: the kinds rotate with the level, the segment and the
// connection, so every connection meets every kind at every level.
func (p *tunnelPlan) kind(k, l int) tunnelKind {
	return tunnelKind((p.conn + k + l) % int(tunnelKinds))
}

// wrap returns pkt inside the plan's tunnels, the innermost first: the
// outermost IP packet, with identification id where it is IPv4. Level l's
// outer packet is IPv6 when (conn+l)%3 == 2, and goes from 172.16.l.1 (or
// 2001:db8:ffff:l::1), the client's tunnel endpoint, to .2 when up is set,
// the other way otherwise. Each tunnel is counted in the tally's Uses,
// with mode, the segment's fragmenting.
func (p *tunnelPlan) wrap(pkt []byte, k int, up bool, id uint16, mode fragMode) []byte {
	for l := p.depth - 1; l >= 0; l-- {
		src, dst := tunnelEndpoints(l, (p.conn+l)%3 == 2, up)
		vni := uint32(1000 + l)
		v := k/int(tunnelKinds) + p.conn // the variant of this kind
		kind := p.kind(k, l)
		carries := ipName(pkt)
		switch kind {
		case tunVXLAN, tunVXLANLinux:
			port := uint16(capturetest.PortVXLAN)
			if kind == tunVXLANLinux {
				port = capturetest.PortVXLANLinux
			}
			carries = "ethernet"
			pkt = udpTunnel(src, dst, port, p.conn, id, capturetest.VXLAN(vni, capturetest.Ethernet(pkt)))
		case tunVXLANGPE:
			// The next protocols a Linux receiver takes, rotating:
			// Ethernet, the packet's own IP version, MPLS, and IPv4
			// whatever the version (around IPv6 the version nibble
			// decides, in capture as in tshark's "ip" dissector).
			var g []byte
			switch v % 4 {
			case 0:
				carries = "ethernet"
				g = capturetest.VXLANGPE(capturetest.GPEEthernet, vni, capturetest.Ethernet(pkt))
			case 1:
				next := byte(capturetest.GPEIPv4)
				if pkt[0]>>4 == 6 {
					next = capturetest.GPEIPv6
				}
				g = capturetest.VXLANGPE(next, vni, pkt)
			case 2:
				carries = "mpls"
				g = capturetest.VXLANGPE(capturetest.GPEMPLS, vni, capturetest.MPLSLabels([]uint32{32 + uint32(l)}, pkt))
			case 3:
				if carries == "ipv6" {
					carries = "ipv6 as ipv4"
				}
				g = capturetest.VXLANGPE(capturetest.GPEIPv4, vni, pkt)
			}
			pkt = udpTunnel(src, dst, capturetest.PortVXLANGPE, p.conn, id, g)
		case tunGENEVE:
			// One 8-byte option (class 0x0102, type 0x80, 4 bytes of data),
			// skipped by its length; an Ethernet frame or the IP packet.
			opt := []byte{0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef}
			var g []byte
			if v%2 == 0 {
				carries = "ethernet"
				g = capturetest.GENEVE(capturetest.EtherTEB, vni, opt, capturetest.Ethernet(pkt))
			} else {
				g = capturetest.GENEVE(etherTypeOf(pkt), vni, opt, pkt)
			}
			pkt = udpTunnel(src, dst, capturetest.PortGENEVE, p.conn, id, g)
		case tunGRE:
			o := capturetest.GREOptions{Key: true, Sequence: true, Checksum: v%3 == 0}
			var g []byte
			switch v % 4 {
			case 0:
				g = capturetest.GRE(o, etherTypeOf(pkt), pkt)
			case 1:
				carries = "ethernet"
				g = capturetest.GRE(o, capturetest.EtherTEB, capturetest.Ethernet(pkt))
			case 2:
				carries = "mpls"
				g = capturetest.GRE(o, capturetest.EtherMPLS, capturetest.MPLSLabels([]uint32{16 + uint32(l)}, pkt))
			case 3:
				// ERSPAN type II (version 1, session 1), as a switch
				// mirrors: the sequence number says it is not type I.
				carries = "erspan"
				g = capturetest.GRE(o, capturetest.EtherERSPAN, append([]byte{0x10, 0, 0, 1, 0, 0, 0, 0}, capturetest.Ethernet(pkt)...))
			}
			pkt = capturetest.IP(src, dst, capturetest.ProtoGRE, id, g)
		case tunIPinIP:
			proto := uint8(capturetest.ProtoIPIP)
			if pkt[0]>>4 == 6 {
				proto = capturetest.ProtoIPv6
			}
			pkt = capturetest.IP(src, dst, proto, id, pkt)
		}
		p.tally.Uses[tunnelUse{depth: p.depth, level: l, kind: kind, carries: carries, frag: mode}]++
	}
	return pkt
}

// ipName names an IP packet's version, as tunnelUse.carries does.
func ipName(pkt []byte) string {
	if pkt[0]>>4 == 6 {
		return "ipv6"
	}
	return "ipv4"
}

// tunnelEndpoints are the outer addresses of tunnel level l.
func tunnelEndpoints(l int, v6, up bool) (src, dst netip.Addr) {
	if v6 {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, byte(l), 15: 1}
		b := a
		b[15] = 2
		src, dst = netip.AddrFrom16(a), netip.AddrFrom16(b)
	} else {
		src, dst = netip.AddrFrom4([4]byte{172, 16, byte(l), 1}), netip.AddrFrom4([4]byte{172, 16, byte(l), 2})
	}
	if !up {
		src, dst = dst, src
	}
	return src, dst
}

// udpTunnel returns payload in a UDP datagram to port, from a source port
// that stands for the connection's flow hash, as VXLAN, VXLAN-GPE and
// GENEVE endpoints pick it (never 4789, 4790, 6081 or 8472).
func udpTunnel(src, dst netip.Addr, port uint16, conn int, id uint16, payload []byte) []byte {
	sport := uint16(49152 + conn%16384)
	return capturetest.UDPPacket(netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, port), id, payload)
}

// etherTypeOf is the EtherType of an IP packet, by its version nibble.
func etherTypeOf(pkt []byte) uint16 {
	if pkt[0]>>4 == 6 {
		return capturetest.EtherIPv6
	}
	return capturetest.EtherIPv4
}

// split cuts an IPv4 packet (a 20-byte header) or an IPv6 one (a 40-byte
// header, no extension headers) in two fragments after the first 24 bytes
// of its payload, 16 when it has only 20, or returns it whole when its
// payload is too short to cut.
func (p *tunnelPlan) split(pkt []byte) [][]byte {
	hl := 20
	if pkt[0]>>4 == 6 {
		hl = 40
	}
	payload := pkt[hl:]
	cut := min(24, len(payload)-1) &^ 7
	if cut <= 0 {
		return [][]byte{pkt}
	}
	if hl == 20 {
		return [][]byte{ipv4Fragment(pkt[:20], payload[:cut], 0, true), ipv4Fragment(pkt[:20], payload[cut:], cut, false)}
	}
	*p.fragID++
	return [][]byte{ipv6Fragment(pkt[:40], payload[:cut], 0, true, *p.fragID), ipv6Fragment(pkt[:40], payload[cut:], cut, false, *p.fragID)}
}

// ipv6Fragment copies header hdr (40 bytes, no extension headers) around
// a Fragment header (identification id, offset, More Fragments) and part.
func ipv6Fragment(hdr, part []byte, offset int, more bool, id uint32) []byte {
	b := make([]byte, 48+len(part))
	copy(b, hdr)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(part)))
	b[6] = capturetest.ProtoIPv6Frag
	b[40] = hdr[6]       // the next header of the whole packet
	ff := uint16(offset) // offset/8 in the top 13 bits: offset itself, a multiple of 8
	if more {
		ff |= 1
	}
	binary.BigEndian.PutUint16(b[42:], ff)
	binary.BigEndian.PutUint32(b[44:], id)
	copy(b[48:], part)
	return b
}
