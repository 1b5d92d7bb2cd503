package capture

import (
	"encoding/binary"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Tunnels of IP: IP in IP, GRE (with ERSPAN and MPLS inside), VXLAN and
// GENEVE, followed down to the innermost IP packet and its TCP segment. The
// package doc (section Tunnels) gives the exact rules, which follow tshark
// 4.0 but for the look-alikes it lists; linktypes.pcapng holds a frame for
// each case and TestLinkTypesAgainstTshark compares.
//
// decodeLayers reads one level per pass of its loop: the parser stops
// after the IP layer (ipNext), the functions here read the tunnel header
// and return what it carries as an inner, which the next level decodes
// with the parser for IPv4, IPv6, Ethernet or MPLS. All levels share the
// Decoder's preallocated layers, so a level reads everything it needs from
// them before handing on.

// maxTunnelDepth is the most tunnels followed in one frame.
const maxTunnelDepth = 4

// Tunnel numbers the Decoder knows.
const (
	greFlagChecksum        = 0x8000
	greFlagRouting         = 0x4000
	greFlagKey             = 0x2000
	greFlagSequence        = 0x1000
	greVersionMask         = 0x0007
	greHeaderLen           = 4
	etherTypeTEB           = 0x6558 // Transparent Ethernet Bridging
	etherTypeIPv6          = 0x86dd
	etherTypeMPLS          = 0x8847
	etherTypeMPLSMulticast = 0x8848
	etherTypeERSPAN2       = 0x88be // ERSPAN type I and II
	etherTypeERSPAN3       = 0x22eb
	erspan2HeaderLen       = 8
	erspan3HeaderLen       = 12
	erspan3SubheaderLen    = 8

	udpHeaderLen    = 8
	portVXLAN       = 4789
	portVXLANLinux  = 8472 // Linux's default (no dstport given), flannel's and Cilium's
	vxlanHeaderLen  = 8
	vxlanFlagI      = 0x08
	portGENEVE      = 6081
	geneveHeaderLen = 8

	// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): VXLAN's 8 bytes, with a
	// version, a P flag announcing the next protocol in byte 3, and an O
	// flag for OAM.
	portVXLANGPE     = 4790
	gpeVersionMask   = 0x30
	gpeFlagP         = 0x04
	gpeFlagO         = 0x01
	gpeNextIPv4      = 1
	gpeNextIPv6      = 2
	gpeNextEthernet  = 3
	gpeNextMPLS      = 5
	gpeFlagsFollowed = gpeVersionMask | vxlanFlagI | gpeFlagP | gpeFlagO
	gpeFlagsWanted   = vxlanFlagI | gpeFlagP // version 0, not OAM
)

// inner is what a tunnel carries: data, to be read by parser, of which
// the wire carried beyond more bytes than were captured. A nil parser
// means there is nothing to follow.
type inner struct {
	parser *gopacket.DecodingLayerParser
	data   []byte
	beyond int
}

// ipNext stops an IP layer where the Decoder's own code takes over: IP in
// IP, which the tunnel code follows one level at a time (the parsers share
// one IPv4 and one IPv6 layer, so the inner packet must not overwrite the
// outer before it has been read), and MPLS in IP (protocol 137), a tunnel
// the Decoder does not follow (other_ip_proto), whereas the MPLS layer is
// shared with the link layers.
func ipNext(t gopacket.LayerType) gopacket.LayerType {
	switch t {
	case layers.LayerTypeMPLS, layers.LayerTypeIPv4, layers.LayerTypeIPv6:
		return gopacket.LayerTypeZero
	}
	return t
}

// follow returns the tunnelled bytes that start hdr bytes into payload
// (wireLen bytes of it on the wire, beyond of them past the capture), for
// parser; or, when payload ends before them, the reason.
func (d *Decoder) follow(p *Packet, parser *gopacket.DecodingLayerParser, payload []byte, wireLen, hdr, depth int, deeper SkipReason) (inner, SkipReason) {
	if depth >= maxTunnelDepth {
		return inner{}, deeper
	}
	if len(payload) < hdr || wireLen < hdr {
		return inner{}, d.damaged(p)
	}
	if len(payload) > wireLen {
		payload = payload[:wireLen]
	}
	beyond := max(0, wireLen-len(payload))
	return inner{parser: parser, data: payload[hdr:], beyond: beyond}, SkipNone
}

// ipTunnel follows IP in IP and GRE.
func (d *Decoder) ipTunnel(p *Packet, proto layers.IPProtocol, b []byte, wireLen, depth int) (inner, SkipReason) {
	switch proto {
	case layers.IPProtocolIPv4:
		if len(b) == 0 {
			return d.follow(p, d.ip4Parser, b, wireLen, 1, depth, SkipOtherIPProto) // nothing after the header
		}
		if parser := d.ipParserOf(b[0]); parser != nil {
			return d.follow(p, parser, b, wireLen, 0, depth, SkipOtherIPProto)
		}
		return inner{}, SkipMalformed
	case layers.IPProtocolIPv6:
		return d.follow(p, d.ip6Parser, b, wireLen, 0, depth, SkipOtherIPProto)
	}
	// GRE.
	if len(b) < 2 {
		return d.follow(p, nil, b, wireLen, greHeaderLen, depth, SkipOtherIPProto)
	}
	flags := binary.BigEndian.Uint16(b)
	if flags&greVersionMask != 0 {
		return inner{}, SkipOtherIPProto
	}
	n := greHeaderLen
	if flags&(greFlagChecksum|greFlagRouting) != 0 {
		n += 4 // checksum and reserved1 (RFC 2784), or RFC 1701's offset
	}
	if flags&greFlagKey != 0 {
		n += 4
	}
	if flags&greFlagSequence != 0 {
		n += 4
	}
	if flags&greFlagRouting != 0 {
		// RFC 1701 source routing: entries (address family, offset,
		// length, the length's bytes) until one with family and length 0.
		for {
			if len(b) < n+4 {
				return d.follow(p, nil, b, wireLen, n+4, depth, SkipOtherIPProto)
			}
			family, length := binary.BigEndian.Uint16(b[n:]), int(b[n+3])
			n += 4 + length
			if family == 0 && length == 0 {
				break
			}
		}
	}
	if len(b) < n {
		return d.follow(p, nil, b, wireLen, n, depth, SkipOtherIPProto)
	}
	var parser *gopacket.DecodingLayerParser
	switch proto := binary.BigEndian.Uint16(b[2:]); proto {
	case etherTypeIPv4:
		// tshark's "ip" dissector, which GRE calls for 0x0800, goes by
		// the version nibble, as for IP protocol 4.
		return d.ipTunnel(p, layers.IPProtocolIPv4, b[n:], wireLen-n, depth)
	case etherTypeIPv6:
		parser = d.ip6Parser
	case etherTypeTEB:
		parser = d.ethParser
	case etherTypeMPLS, etherTypeMPLSMulticast:
		parser = d.mplsParser
	case etherTypeERSPAN2, etherTypeERSPAN3:
		// ERSPAN: type I (0x88BE without a sequence number) has no
		// header of its own; otherwise the version says how long it is:
		// 8 bytes for type II (1), 12 for type III (2), and 8 more when
		// type III's O flag announces a platform-specific subheader.
		// An Ethernet frame follows.
		parser = d.ethParser
		if proto == etherTypeERSPAN3 || flags&greFlagSequence != 0 {
			if len(b) < n+1 {
				return d.follow(p, nil, b, wireLen, n+1, depth, SkipOtherIPProto)
			}
			switch b[n] >> 4 {
			case 1:
				n += erspan2HeaderLen
			case 2:
				if len(b) < n+erspan3HeaderLen {
					return d.follow(p, nil, b, wireLen, n+erspan3HeaderLen, depth, SkipOtherIPProto)
				}
				if b[n+erspan3HeaderLen-1]&1 != 0 {
					n += erspan3SubheaderLen
				}
				n += erspan3HeaderLen
			default:
				return inner{}, SkipOtherIPProto
			}
		}
	default:
		return inner{}, SkipOtherIPProto
	}
	return d.follow(p, parser, b, wireLen, n, depth, SkipOtherIPProto)
}

// udpTunnel follows VXLAN (to 4789, or Linux's 8472), VXLAN-GPE and
// GENEVE; any other UDP is skipped as udp.
func (d *Decoder) udpTunnel(p *Packet, b []byte, wireLen, depth int) (inner, SkipReason) {
	if len(b) < 4 {
		// The destination port is not there: a cut frame may have
		// carried a tunnel, and TCP in it.
		if p.CaptureLength < p.OriginalLength {
			return inner{}, SkipTruncated
		}
		return inner{}, SkipUDP
	}
	var hdr int
	switch binary.BigEndian.Uint16(b[2:]) {
	case portVXLAN, portVXLANLinux:
		hdr = udpHeaderLen + vxlanHeaderLen
		if len(b) < hdr {
			return d.follow(p, nil, b, wireLen, hdr, depth, SkipUDP)
		}
		if b[udpHeaderLen]&vxlanFlagI == 0 {
			return inner{}, SkipUDP
		}
		return d.udpFollow(p, d.ethParser, b, wireLen, hdr, depth)
	case portVXLANGPE:
		hdr = udpHeaderLen + vxlanHeaderLen
		if len(b) < hdr {
			return d.follow(p, nil, b, wireLen, hdr, depth, SkipUDP)
		}
		// As a Linux receiver: a VNI (I), a next protocol (P), version 0,
		// and no OAM, which is no tenant traffic.
		g := b[udpHeaderLen:]
		if g[0]&gpeFlagsFollowed != gpeFlagsWanted {
			return inner{}, SkipUDP
		}
		var parser *gopacket.DecodingLayerParser
		switch g[3] {
		case gpeNextIPv4:
			// tshark's "ip" dissector goes by the version nibble, as for
			// GRE's 0x0800.
			parser = d.ip4Parser
			if len(b) > hdr && int(binary.BigEndian.Uint16(b[4:])) > hdr {
				if parser = d.ipParserOf(b[hdr]); parser == nil {
					return inner{}, SkipMalformed
				}
			}
		case gpeNextIPv6:
			parser = d.ip6Parser
		case gpeNextEthernet:
			parser = d.ethParser
		case gpeNextMPLS:
			parser = d.mplsParser
		default:
			return inner{}, SkipUDP // NSH among them
		}
		return d.udpFollow(p, parser, b, wireLen, hdr, depth)
	case portGENEVE:
		hdr = udpHeaderLen + geneveHeaderLen
		if len(b) < hdr {
			return d.follow(p, nil, b, wireLen, hdr, depth, SkipUDP)
		}
		g := b[udpHeaderLen:]
		if g[0]>>6 != 0 {
			return inner{}, SkipUDP // a version this Decoder does not know
		}
		hdr += int(g[0]&0x3f) * 4
		var parser *gopacket.DecodingLayerParser
		switch binary.BigEndian.Uint16(g[2:]) {
		case etherTypeTEB:
			parser = d.ethParser
		case etherTypeIPv4:
			parser = d.ip4Parser
		case etherTypeIPv6:
			parser = d.ip6Parser
		default:
			return inner{}, SkipUDP
		}
		return d.udpFollow(p, parser, b, wireLen, hdr, depth)
	}
	return inner{}, SkipUDP
}

// udpFollow checks a tunnel's UDP length, which bounds what it carries, and
// follows it.
func (d *Decoder) udpFollow(p *Packet, parser *gopacket.DecodingLayerParser, b []byte, wireLen, hdr, depth int) (inner, SkipReason) {
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < udpHeaderLen || n > wireLen {
		return inner{}, SkipMalformed
	}
	return d.follow(p, parser, b, n, hdr, depth, SkipUDP)
}
